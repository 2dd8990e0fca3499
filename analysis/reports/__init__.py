"""The forgettability-report wing: report jobs, their inputs, pages, downloads and the import roots."""
