from anxin.cli import main

raise SystemExit(main())
