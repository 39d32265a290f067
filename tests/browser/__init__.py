"""Real-browser tests: the app on a real port, Debian's Chromium driven by Playwright."""
