"""TikTok Shop Partner API (version 202309 and later) connector."""
