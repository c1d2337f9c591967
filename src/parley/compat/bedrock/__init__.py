"""Amazon Bedrock's runtime protocol for Claude, as the SDK's ``AnthropicBedrock`` speaks it.

``sigv4`` checks the AWS Signature Version 4 that signs each request; ``eventstream``
writes streamed answers in AWS's event-stream framing. The bodies themselves are the
Claude API's, with ``anthropic_version`` and the model moved (see
``http/routes/bedrock.py``).
"""
