from dtle_tui.cli import main

raise SystemExit(main())
