"""The class board's UI: joining a class from any page (`?class=CODE`), publishing finished
runs, and the Class page (the board, and the teacher's controls). The logic is in
`lenet_viz.classroom`."""
