"""The Lambda handlers: ``eventual_aws.handlers.<kind>.handler(event, context)``.

One module per function kind of the plan (``orchestrator``, ``task``, ``timer``,
``forwarder``, ``subscription``, ``api``). Each is a thin entry point: it runs
the invocation on the process's persistent event loop with the configuration in
the environment (see ``docs/aws.md``, "Handlers"). Importing this package
imports nothing else.
"""
