"""The member's rights of access (R1) and portability (R6), and the processing record
(GDPR Art. 30), all generated from the data map (`lederappen.core.datamap`)."""
