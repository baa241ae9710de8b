/* SPDX-License-Identifier: MIT */
/*
 * Every C name the generator prints comes from here. The type and function
 * prefixes must be exactly the ones protoc-c (protobuf-c 1.4) derives from
 * the same .proto, or the emitted code would not link against x.pb-c.c, so
 * these follow protoc-c's rules character for character (including its
 * handling of runs of capitals and of the (pb_c_file).c_package option).
 */
#include <ctype.h>
#include <string.h>

#include <lazyrpc/service.h>

#include "rpcgen.h"

/*
 * Identifiers a handler member may not be: C11/C23 and C++ keywords (the
 * generated header is also compiled as C++), lower-case macros that glibc,
 * gcc's gnu modes or the standard headers define, and GNU extensions.
 */
static const char *const reserved_words[] = {
	"alignas", "alignof", "and", "and_eq", "asm", "assert", "auto",
	"bitand", "bitor", "bool", "break", "case", "catch", "char", "char16_t",
	"char32_t", "char8_t", "class", "co_await", "co_return", "co_yield",
	"compl", "complex", "concept", "const", "const_cast", "consteval",
	"constexpr", "constinit", "continue", "decltype", "default", "delete",
	"do", "double", "dynamic_cast", "else", "enum", "errno", "explicit",
	"export", "extern", "false", "float", "for", "friend", "goto", "i386",
	"if", "imaginary", "inline", "int", "linux", "long", "mutable",
	"namespace", "new", "noexcept", "noreturn", "not", "not_eq", "nullptr",
	"offsetof", "operator", "or", "or_eq", "private", "protected", "public",
	"register", "reinterpret_cast", "requires", "restrict", "return",
	"setjmp", "short", "signed", "sizeof", "static", "static_assert",
	"static_cast", "stderr", "stdin", "stdout", "struct", "switch",
	"template", "this", "thread_local", "throw", "true", "try", "typedef",
	"typeid", "typename", "typeof", "typeof_unqual", "union", "unix",
	"unsigned", "using", "va_arg", "va_copy", "va_end", "va_start",
	"virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
};

/*
 * Method names protoc-c 1.4.1 cannot take: it names the member of its
 * Pkg__Svc_Service struct after the method, verbatim in snake case, so
 * these give an x.pb-c.h that does not compile as gnu11 C (keywords, the
 * GNU ones, and what the headers of the generated code #define: bool,
 * true, false from <stdbool.h>, static_assert from <assert.h>, linux,
 * unix, i386 from gcc). Found by compiling protoc-c's output for each.
 * C++-only keywords (class, new) still compile as C and are allowed.
 */
static const char *const breaks_pbc_words[] = {
	"asm", "auto", "bool", "break", "case", "char", "const", "continue",
	"default", "do", "double", "else", "enum", "extern", "false", "float",
	"for", "goto", "i386", "if", "inline", "int", "linux", "long",
	"register", "restrict", "return", "short", "signed", "sizeof",
	"static", "static_assert", "struct", "switch", "true", "typedef",
	"typeof", "union", "unix", "unsigned", "void", "volatile", "while",
};

/* protoc-c's CamelToLower: '_' before a capital that follows a non-capital. */
char *name_camel_to_lower(const char *s)
{
	size_t n = strlen(s);
	char *d = rpcgen_alloc(2 * n + 1), *o = d;
	bool was_upper = true; /* no leading '_' */

	for (; *s; s++) {
		bool is_upper = isupper((unsigned char)*s);

		if (is_upper) {
			if (!was_upper)
				*o++ = '_';
			*o++ = (char)tolower((unsigned char)*s);
		} else {
			*o++ = *s;
		}
		was_upper = is_upper;
	}
	*o = '\0';
	return d;
}

/* protoc-c's CamelToUpper, for macro names (method ids). */
char *name_camel_to_upper(const char *s)
{
	char *d = name_camel_to_lower(s);

	for (char *p = d; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return d;
}

/* protoc-c's ToCamel: drop '_' and capitalise what follows it. */
char *name_to_camel(const char *s)
{
	char *d = rpcgen_alloc(strlen(s) + 1), *o = d;
	bool next_upper = true;

	for (; *s; s++) {
		if (*s == '_') {
			next_upper = true;
		} else if (next_upper) {
			*o++ = (char)toupper((unsigned char)*s);
			next_upper = false;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return d;
}

/*
 * protoc-c's OverrideFullName: (pb_c_file).c_package replaces the package
 * part of every name declared in that file.
 */
static const char *override_full_name(const char *full_name, const pb_file *file)
{
	const char *cpkg = options_c_package(file);
	const char *pkg = file->package ? file->package : "";

	if (!cpkg)
		return full_name;
	if (!*pkg)
		return rpcgen_asprintf("%s.%s", cpkg, full_name);
	return rpcgen_asprintf("%s%s", cpkg, full_name + strlen(pkg));
}

typedef char *(*piece_fn)(const char *);

/* Join the dot-separated pieces, each converted by \p fn, with "__". */
static char *full_name_join(const char *full_name, const pb_file *file, piece_fn fn)
{
	const char *s = override_full_name(full_name, file);
	strbuf sb = { 0 };

	while (*s) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);

		if (len) {
			if (sb.len)
				sb_puts(&sb, "__");
			sb_puts(&sb, fn(rpcgen_strndup(s, len)));
		}
		s += len;
		if (*s == '.')
			s++;
	}
	char *r = rpcgen_strdup(sb.len ? sb.buf : "");
	sb_free(&sb);
	return r;
}

/* "foo.bar.BazBah" -> "Foo__Bar__BazBah" (types). */
char *name_full_to_c(const char *full_name, const pb_file *file)
{
	return full_name_join(full_name, file, name_to_camel);
}

/* "foo.bar.BazBah" -> "foo__bar__baz_bah" (functions, descriptors). */
char *name_full_to_lower(const char *full_name, const pb_file *file)
{
	return full_name_join(full_name, file, name_camel_to_lower);
}

/* "foo.bar.BazBah" -> "FOO__BAR__BAZ_BAH" (macros). */
char *name_full_to_upper(const char *full_name, const pb_file *file)
{
	return full_name_join(full_name, file, name_camel_to_upper);
}

/* Keywords, the macros above, and what C reserves (_X..., __...). */
bool name_is_reserved(const char *ident)
{
	if (ident[0] == '_' && (ident[1] == '_' || isupper((unsigned char)ident[1])))
		return true;
	for (size_t i = 0; i < sizeof(reserved_words) / sizeof(reserved_words[0]); i++)
		if (strcmp(ident, reserved_words[i]) == 0)
			return true;
	return false;
}

/* Does protoc-c's member for a method called \p lower ("return") break x.pb-c.h? */
bool name_breaks_pbc(const char *lower)
{
	for (size_t i = 0; i < sizeof(breaks_pbc_words) / sizeof(breaks_pbc_words[0]); i++)
		if (strcmp(lower, breaks_pbc_words[i]) == 0)
			return true;
	return false;
}

/*
 * The handler member for a method: the name protoc-c uses for the same
 * method (so users see one spelling), made safe by a trailing '_'.
 */
char *name_member(const char *method_name)
{
	char *m = name_camel_to_lower(method_name);

	if (name_is_reserved(m))
		return rpcgen_asprintf("%s_", m);
	return m;
}

/* "dir/x.proto" -> "dir/x": the stem protoc-c names its outputs after. */
char *name_strip_proto(const char *file_name)
{
	size_t n = strlen(file_name);

	if (n > 11 && strcmp(file_name + n - 11, ".protodevel") == 0)
		return rpcgen_strndup(file_name, n - 11);
	if (n > 6 && strcmp(file_name + n - 6, ".proto") == 0)
		return rpcgen_strndup(file_name, n - 6);
	return rpcgen_strdup(file_name);
}

/*
 * Include guard from the file name. Non-alphanumerics become "_XX" (hex),
 * so "a-b.proto" and "a_b.proto" cannot share a guard.
 */
char *name_guard(const char *file_name)
{
	strbuf sb = { 0 };

	sb_puts(&sb, "LRPC_GEN_");
	for (const char *s = file_name; *s; s++) {
		if (isalnum((unsigned char)*s)) {
			char c = (char)toupper((unsigned char)*s);

			sb_append(&sb, &c, 1);
		} else {
			sb_puts(&sb, rpcgen_asprintf("_%02X", (unsigned char)*s));
		}
	}
	sb_puts(&sb, "__LRPC_H");
	char *r = rpcgen_strdup(sb.buf);
	sb_free(&sb);
	return r;
}

/*
 * File names end up in #include lines, string literals and comments; the
 * generator refuses the few characters that would need escaping there
 * rather than escape them differently in each place.
 */
bool name_is_c_string_safe(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!isalnum(c) && !strchr("_-./+@=,~", c))
			return false;
	}
	return true;
}

/*
 * The names of one service, derived by this one function so that the
 * header and the source emitters cannot disagree on them; each emitter and
 * the checker derive them afresh where they need them.
 */
void svc_names_init(svc_names *sn, const pb_file *file, const pb_service *svc)
{
	const char *pkg = file->package ? file->package : "";
	const char *name = svc->name ? svc->name : "";

	sn->file = file;
	sn->svc = svc;
	sn->full_name = *pkg ? rpcgen_asprintf("%s.%s", pkg, name) : rpcgen_strdup(name);
	sn->c_name = name_full_to_c(sn->full_name, file);
	sn->lower = name_full_to_lower(sn->full_name, file);
	sn->upper = name_full_to_upper(sn->full_name, file);
}

/*
 * The names and id of one method. The id hashes the proto name
 * ("/pkg.Svc/Method"), never the C name, so c_package does not change it.
 * \p in and \p out stay NULL for unknown types; check_file() reports those.
 */
void method_names_init(method_names *mn, const svc_names *sn, const pb_method *m,
		       const type_index *ti)
{
	const char *name = m->name ? m->name : "";

	mn->m = m;
	mn->lower = name_camel_to_lower(name);
	mn->member = name_member(name);
	mn->full_name = rpcgen_asprintf("/%s/%s", sn->full_name, name);
	mn->id = lrpc_method_id(mn->full_name);
	mn->in = types_find(ti, m->input_type);
	mn->out = types_find(ti, m->output_type);
	if (m->client_streaming && m->server_streaming)
		mn->kind = LRPC_METHOD_BIDI_STREAMING;
	else if (m->client_streaming)
		mn->kind = LRPC_METHOD_CLIENT_STREAMING;
	else if (m->server_streaming)
		mn->kind = LRPC_METHOD_SERVER_STREAMING;
	else
		mn->kind = LRPC_METHOD_UNARY;
}

/*
 * The functions we emit for a method of \p kind, as suffixes of
 * pkg__svc__method__: the one list the emitters follow and the collision
 * check reads, so a new stub cannot escape the check. NULL-terminated.
 */
const char *const *name_method_fns(unsigned kind)
{
	static const char *const unary[] = { "call", "lrpc_invoke", NULL };
	static const char *const client[] = { "open", "write", "close_and_recv",
					      "server_read", "lrpc_stream_invoke", NULL };
	static const char *const server[] = { "open", "read", "server_write",
					      "lrpc_stream_invoke", NULL };
	static const char *const bidi[] = { "open", "write", "read", "close_send",
					    "server_read", "server_write",
					    "lrpc_stream_invoke", NULL };

	switch (kind) {
	case LRPC_METHOD_CLIENT_STREAMING:
		return client;
	case LRPC_METHOD_SERVER_STREAMING:
		return server;
	case LRPC_METHOD_BIDI_STREAMING:
		return bidi;
	default:
		return unary;
	}
}
