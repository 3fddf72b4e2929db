/*
 * Printable forms of byte strings (file names, paths, tags) for terminals
 * and messages.  Names may hold any byte but NUL and '/'; escaping them
 * keeps every name on one line, keeps terminals from obeying control
 * sequences, and prints different names differently.
 */
#ifndef COFFER_ESC_H
#define COFFER_ESC_H

#include <stddef.h>
#include <stdio.h>

/*
 * The escaped form of len bytes at s, C style:
 *
 *  - '\\' becomes "\\\\"; BEL BS TAB LF VT FF CR become "\\a" "\\b" "\\t"
 *    "\\n" "\\v" "\\f" "\\r";
 *  - every other byte below 0x20, DEL (0x7f), a byte that does not belong
 *    to a well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
 *    surrogates, nothing above U+10FFFF), and each byte of a C1 control
 *    (U+0080-U+009F), a line or paragraph separator (U+2028, U+2029) or
 *    a bidirectional formatting character (U+200E, U+200F, U+202A-U+202E,
 *    U+2066-U+2069) becomes "\\xHH" (two lowercase hex digits);
 *  - everything else (printable ASCII, other well-formed UTF-8) is kept.
 *
 * So the result is valid UTF-8 without control characters, and the
 * original bytes can be recovered from it.
 */
char *esc_str(const char *s, size_t len); /* allocated: free() */

/* Write the escaped form of len bytes at s to f. */
void esc_fwrite(FILE *f, const char *s, size_t len);

/* Columns the escaped form takes on a terminal (code points, not bytes). */
size_t esc_width(const char *s, size_t len);

#endif
