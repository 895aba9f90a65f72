"""Honduras national FHIR R4 profiles, terminology and the profile validator (see README.md here)."""
