"""Everything that looks at a photo, synchronous and platform-neutral: pipeline/ runs it,
intake/ decodes safely, checks/ (one module per check) find evidence, formats/ and vision/
read what the checks judge, strip/ makes a clean copy, evaluation/ measures the detector.
The layout, folder by folder: docs/ARCHITECTURE.md, "Inside bot/analysis/"."""
