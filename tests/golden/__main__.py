from tests.golden import main

raise SystemExit(main())
