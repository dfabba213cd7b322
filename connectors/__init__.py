"""Typed clients for the systems of record (PLM, ERP, MES, QMS) and the reference simulator."""
