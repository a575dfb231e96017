from logalert.cli import main

raise SystemExit(main())
