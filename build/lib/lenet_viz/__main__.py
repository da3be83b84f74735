from lenet_viz.cli import main

raise SystemExit(main())
