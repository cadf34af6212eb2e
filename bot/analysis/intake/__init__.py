"""Safe intake: untrusted bytes in, a decoded Photo or a coded refusal out.

decode.open_photo is the way in; it sniffs the bytes (sniff), walks the container's structure
(containers), decodes under Pillow's guards (pillow_guards), reads EXIF (exif_reader) and
returns a Photo (photo), or raises an IntakeError (refusals)."""
