from cache_gate.cli import main

raise SystemExit(main())
