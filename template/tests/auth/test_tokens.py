"""The token handler against the JWT attack catalog (RFC 8725, SECURITY.md §JWT)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.helpers import make_token_handler

from ..helpers import sign_claims, valid_claims

handler = None  # replaced per test by the fixture below
