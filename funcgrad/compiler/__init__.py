"""Graph -> Program: optimization passes, then lowering to an executable program."""
