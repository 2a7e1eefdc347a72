"""Safety information taken from the live database before anything runs: how big the tables a
plan touches are, and how long each step may take on them (``sizes``).

Nothing here imports the engine or a driver at load time.
"""
