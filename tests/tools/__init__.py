"""
Helpers shared by the test suites: audio generation and analysis.
"""
