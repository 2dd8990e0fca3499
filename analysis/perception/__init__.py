"""The reader-study statistics wing: jobs, inputs from the answers, simulated readers, pages and API."""
