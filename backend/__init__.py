"""Pacto: a shared portal for the client and the supplier of a service agreement."""
import os

# Piccolo finds its engine and apps through this module path.
os.environ.setdefault("PICCOLO_CONF", "backend.piccolo_conf")
