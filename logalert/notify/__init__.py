"""From matches to messages: render, digests, delivery with retry, the notifiers."""
