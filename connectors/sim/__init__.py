"""The plant-systems simulator: one HTTP server standing in for PLM, ERP, MES and QMS of plants."""
