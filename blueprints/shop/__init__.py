"""Shop: appointments, status board, drawer, services, payments, inspections and stats for the auto shop."""
