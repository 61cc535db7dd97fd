"""The two engines that run a parsed model: ``fast`` (the project's vectorised numpy plan, N runs at once)
and ``pysd`` (the reference, and the only pysd runner in the project). They agree to 1e-9.
"""
