"""Three versions of one invoicing service, and the histories two of them recorded."""
