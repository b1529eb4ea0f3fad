"""``eventual synth``, shared by every deploy target (``aws-cdk``, ``pulumi``, ``sst``)."""
