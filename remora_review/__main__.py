"""`python -m remora_review`: what the installed plain hooks run (see hook_scripts.py)."""

from remora_review.cli import main

raise SystemExit(main())
