"""Reading usage ledgers: one line a request, in any of five formats."""
