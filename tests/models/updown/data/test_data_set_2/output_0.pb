BoutputJ
M°?ÑÕ¿ÜY´?š9¿