"""``python -m faces.cli`` is the ``jinan-sd`` command."""

from faces.cli.main import main

raise SystemExit(main())
