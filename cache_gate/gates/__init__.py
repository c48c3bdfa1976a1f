"""One module per command: check, lint, kpi, report, policy and doctor.

Each turns the settings and the command line's parameters into one `Result`: it reads
its inputs (through the sources), runs the checks or analyses, and places the
findings. The command line (`cache_gate.cli`) prints or writes that Result with a
reporter; nothing here prints.
"""
