"""``python -m simulator`` is the ``jinan-sd`` command."""

from .cli import main

raise SystemExit(main())
