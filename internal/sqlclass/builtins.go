package sqlclass

// This file holds the static word tables: keywords the classifier needs to
// recognise, built-in functions known to be pure, session-bound functions and
// system variables. They are merged at package initialisation into one
// read-only open-addressing hash table, so that a lookup costs one pass over
// the word and no allocation.

// kwID identifies a keyword the classifier reacts to.
type kwID uint16

const (
	kwNone kwID = iota
	kwAGAINST
	kwANALYZE
	kwANY
	kwAS
	kwBEGIN
	kwCHARACTER
	kwCHARSET
	kwCOLLATION
	kwCOLUMNS
	kwCOMMIT
	kwCREATE
	kwDATABASE
	kwDATABASES
	kwDEALLOCATE
	kwDEFAULT
	kwDELETE
	kwDESC
	kwDESCRIBE
	kwENGINES
	kwEVENT
	kwEVENTS
	kwEXPLAIN
	kwEXTENDED
	kwFIELDS
	kwFOR
	kwFORMAT
	kwFULL
	kwFUNCTION
	kwHELP
	kwINDEX
	kwINDEXES
	kwINSERT
	kwINTO
	kwJOIN
	kwKEYS
	kwKILL
	kwLATERAL
	kwLOCK
	kwLOCKED
	kwMATCH
	kwMEMBER
	kwNEXT
	kwNOT
	kwNOWAIT
	kwOF
	kwPACKAGE
	kwPARTITIONS
	kwPASSWORD
	kwPLUGINS
	kwPREVIOUS
	kwPRIVILEGES
	kwPROCEDURE
	kwRECURSIVE
	kwRELEASE
	kwREPLACE
	kwROLLBACK
	kwROW
	kwROWCOUNT
	kwSAVEPOINT
	kwSCHEMA
	kwSCHEMAS
	kwSELECT
	kwSEQUENCE
	kwSET
	kwSHARE
	kwSHOW
	kwSKIP
	kwSOME
	kwSQL
	kwSQLCalcFoundRows
	kwSTART
	kwSTATEMENT
	kwSTATUS
	kwSTORAGE
	kwTABLE
	kwTABLES
	kwTRIGGER
	kwTRIGGERS
	kwTRUNCATE
	kwUNLOCK
	kwUPDATE
	kwUSE
	kwUSER
	kwVALUE
	kwVALUES
	kwVIEW
	kwWITH
	kwXA
	numKeywords
)

// keywordNames gives the (lower-case) spelling of each keyword id.
var keywordNames = [numKeywords]string{
	kwAGAINST:          "against",
	kwANALYZE:          "analyze",
	kwANY:              "any",
	kwAS:               "as",
	kwBEGIN:            "begin",
	kwCHARACTER:        "character",
	kwCHARSET:          "charset",
	kwCOLLATION:        "collation",
	kwCOLUMNS:          "columns",
	kwCOMMIT:           "commit",
	kwCREATE:           "create",
	kwDATABASE:         "database",
	kwDATABASES:        "databases",
	kwDEALLOCATE:       "deallocate",
	kwDEFAULT:          "default",
	kwDELETE:           "delete",
	kwDESC:             "desc",
	kwDESCRIBE:         "describe",
	kwENGINES:          "engines",
	kwEVENT:            "event",
	kwEVENTS:           "events",
	kwEXPLAIN:          "explain",
	kwEXTENDED:         "extended",
	kwFIELDS:           "fields",
	kwFOR:              "for",
	kwFORMAT:           "format",
	kwFULL:             "full",
	kwFUNCTION:         "function",
	kwHELP:             "help",
	kwINDEX:            "index",
	kwINDEXES:          "indexes",
	kwINSERT:           "insert",
	kwINTO:             "into",
	kwJOIN:             "join",
	kwKEYS:             "keys",
	kwKILL:             "kill",
	kwLATERAL:          "lateral",
	kwLOCK:             "lock",
	kwLOCKED:           "locked",
	kwMATCH:            "match",
	kwMEMBER:           "member",
	kwNEXT:             "next",
	kwNOT:              "not",
	kwNOWAIT:           "nowait",
	kwOF:               "of",
	kwPACKAGE:          "package",
	kwPARTITIONS:       "partitions",
	kwPASSWORD:         "password",
	kwPLUGINS:          "plugins",
	kwPREVIOUS:         "previous",
	kwPRIVILEGES:       "privileges",
	kwPROCEDURE:        "procedure",
	kwRECURSIVE:        "recursive",
	kwRELEASE:          "release",
	kwREPLACE:          "replace",
	kwROLLBACK:         "rollback",
	kwROW:              "row",
	kwROWCOUNT:         "rowcount",
	kwSAVEPOINT:        "savepoint",
	kwSCHEMA:           "schema",
	kwSCHEMAS:          "schemas",
	kwSELECT:           "select",
	kwSEQUENCE:         "sequence",
	kwSET:              "set",
	kwSHARE:            "share",
	kwSHOW:             "show",
	kwSKIP:             "skip",
	kwSOME:             "some",
	kwSQL:              "sql",
	kwSQLCalcFoundRows: "sql_calc_found_rows",
	kwSTART:            "start",
	kwSTATEMENT:        "statement",
	kwSTATUS:           "status",
	kwSTORAGE:          "storage",
	kwTABLE:            "table",
	kwTABLES:           "tables",
	kwTRIGGER:          "trigger",
	kwTRIGGERS:         "triggers",
	kwTRUNCATE:         "truncate",
	kwUNLOCK:           "unlock",
	kwUPDATE:           "update",
	kwUSE:              "use",
	kwUSER:             "user",
	kwVALUE:            "value",
	kwVALUES:           "values",
	kwVIEW:             "view",
	kwWITH:             "with",
	kwXA:               "xa",
}

// wordFlags describe what a word means to the classifier.
type wordFlags uint16

const (
	// fSyntax: a reserved word (in both MySQL and MariaDB) that may be
	// followed by "(" without being a call of a stored function: grammar
	// (IN, EXISTS, JOIN, AS ...), type names (DECIMAL(10,2)) and built-in
	// functions the grammar spells as keywords (IF, CHAR, LEFT, INSERT ...).
	fSyntax wordFlags = 1 << iota
	// fBuiltin: a built-in function that neither writes nor depends on the
	// session.
	fBuiltin
	// fSpaceSensitive: a built-in the server recognises only when "(" follows
	// immediately; "count (x)" calls a stored function named count.
	fSpaceSensitive
	// fSessionFn: a function with side effects outside the data (locks,
	// waits, files) or whose result depends on the session.
	fSessionFn
	// fSessionVar: a system variable whose value is bound to the session.
	fSessionVar
	// fWrite: a statement keyword that writes (DML, DDL, CALL, LOAD ...).
	fWrite
	// fSeqWrite: NEXTVAL/SETVAL, which advance a sequence, anywhere (MariaDB
	// also accepts seq.nextval).
	fSeqWrite
	// fSeqRead: LASTVAL/CURRVAL, session-bound sequence reads.
	fSeqRead
	// fReact: the scan must look at this word even when no "(" follows:
	// a write, sequence or session table word, or a keyword of
	// reactiveKeywords. Derived when the table is built.
	fReact
	// fMySQLOnly: the word's function (fBuiltin or fSessionFn) is a
	// built-in of MySQL only; on MariaDB the name may be a stored function.
	fMySQLOnly
	// fMariaDBOnly: the same, for a built-in of MariaDB only.
	fMariaDBOnly
	// fSysSchema: information_schema or performance_schema.
	fSysSchema
	// fSessionTable: a table of fSysSchema that describes the current
	// connection (its variables, status, profile, trace ...).
	fSessionTable
	// fSelectOpt: a SELECT option (SQL_NO_CACHE, HIGH_PRIORITY ...); right
	// after SELECT or another option, "(" that follows it starts an
	// expression, not a call.
	fSelectOpt
	// fSessionState: a function that leaves state on the connection that
	// outlives the statement (a user-level lock taken or released).
	fSessionState
)

// reactiveKeywords are the keywords the generic scan reacts to wherever
// they appear (see state.word).
var reactiveKeywords = []kwID{
	kwFOR, kwINTO, kwLOCK, kwLOCKED, kwMATCH, kwNOWAIT, kwPROCEDURE, kwROWCOUNT,
	kwSHARE, kwSQLCalcFoundRows, kwUPDATE, kwVALUES, kwWITH,
}

// syntaxWords: see fSyntax. Only words reserved in both flavours belong here;
// anything else followed by "(" must be a known built-in or is treated as a
// possible stored function.
var syntaxWords = []string{
	"all", "and", "as", "between", "bigint", "binary", "by", "case", "char",
	"convert", "cross", "current_date", "current_time", "current_timestamp",
	"current_user", "dec", "decimal", "default", "distinct", "distinctrow",
	"div", "double", "else", "except", "exists", "float", "for", "from",
	"group", "having", "if", "in", "index", "inner", "insert", "int",
	"integer", "intersect", "interval", "is", "join", "key", "left", "like",
	"localtime", "localtimestamp", "match", "mediumint", "mod", "natural",
	"not", "numeric", "on", "or", "outer", "partition", "real", "regexp",
	"repeat", "replace", "right", "rlike", "select", "smallint",
	"straight_join", "then", "tinyint", "union", "unsigned", "using",
	"utc_date", "utc_time", "utc_timestamp", "values", "varbinary",
	"varchar", "when", "where", "with", "xor",
}

// selectOptions: see fSelectOpt. Not SQL_CACHE: MySQL 8.0 removed it, so
// there "sql_cache(" may call a stored function.
var selectOptions = []string{
	"all", "distinct", "distinctrow", "high_priority", "sql_big_result",
	"sql_buffer_result", "sql_calc_found_rows", "sql_no_cache",
	"sql_small_result", "straight_join",
}

// writeWords: words that only occur in statements that change data or
// schema. Found anywhere in a query (outside strings, comments and quoted
// identifiers) they make it a write. INSERT, REPLACE and TRUNCATE followed by
// "(" are the string/number functions instead; UPDATE after FOR is a lock.
var writeWords = []string{
	"alter", "call", "create", "delete", "drop", "grant", "insert", "load",
	"rename", "replace", "revoke", "truncate", "update",
}

// spaceSensitiveFuncs: built-ins the server recognises as such only when the
// parenthesis follows the name directly (MySQL and MariaDB sql_functions[]
// in sql/lex.h); with a space in between the name resolves to a stored
// function of the current database. Each must also be in one of the lists
// of built-ins below, which say in which flavour it is one.
var spaceSensitiveFuncs = []string{
	"adddate", "bit_and", "bit_or", "bit_xor", "cast", "count", "cume_dist",
	"curdate", "curtime", "date_add", "date_format", "date_sub", "dense_rank",
	"extract", "first_value", "group_concat", "json_arrayagg",
	"json_objectagg", "lag", "last_value", "lead", "max", "median", "mid",
	"min", "now", "nth_value", "ntile", "percent_rank", "percentile_cont",
	"percentile_disc", "position", "rank", "row_number", "session_user",
	"st_collect", "std", "stddev", "stddev_pop", "stddev_samp", "subdate",
	"substr", "substring", "sum", "sysdate", "system_user", "trim",
	"trim_oracle", "var_pop", "var_samp", "variance",
}

// builtinFuncs: built-in functions of both MySQL (8.0.22 to 9.x) and
// MariaDB (10.5 to 11.8) that read nothing but their arguments and the data,
// and write nothing. Sources: sql/item_create.cc, sql/item_geofunc.cc and
// the grammar's keyword functions of each server, and their function
// references.
var builtinFuncs = []string{
	// aggregates and window functions
	"avg", "bit_and", "bit_or", "bit_xor", "count", "cume_dist",
	"dense_rank", "first_value", "group_concat", "json_arrayagg",
	"json_objectagg", "lag", "last_value", "lead", "max", "min",
	"nth_value", "ntile", "percent_rank", "rank", "row_number", "std",
	"stddev", "stddev_pop", "stddev_samp", "sum", "var_pop", "var_samp",
	"variance",
	// control flow and comparison
	"coalesce", "greatest", "if", "ifnull", "interval", "isnull", "least",
	"nullif",
	// casts and character sets
	"binary", "cast", "char", "charset", "coercibility", "collation",
	"convert", "weight_string",
	// strings
	"ascii", "bin", "bit_length", "char_length", "character_length",
	"concat", "concat_ws", "elt", "export_set", "field", "find_in_set",
	"format", "from_base64", "hex", "insert", "instr", "lcase", "left",
	"length", "locate", "lower", "lpad", "ltrim", "make_set", "mid", "oct",
	"octet_length", "ord", "position", "quote", "repeat", "replace",
	"reverse", "right", "rpad", "rtrim", "soundex", "space", "strcmp",
	"substr", "substring", "substring_index", "to_base64", "trim", "ucase",
	"unhex", "upper", "regexp_instr", "regexp_replace", "regexp_substr",
	"match", "extractvalue", "updatexml",
	// numbers
	"abs", "acos", "asin", "atan", "atan2", "ceil", "ceiling", "conv", "cos",
	"cot", "crc32", "degrees", "exp", "floor", "ln", "log", "log10", "log2",
	"mod", "pi", "pow", "power", "radians", "rand", "round", "sign", "sin",
	"sqrt", "tan", "truncate", "bit_count",
	// dates and times
	"adddate", "addtime", "convert_tz", "curdate", "current_date",
	"current_time", "current_timestamp", "curtime", "date", "date_add",
	"date_format", "date_sub", "datediff", "day", "dayname", "dayofmonth",
	"dayofweek", "dayofyear", "extract", "from_days", "from_unixtime",
	"get_format", "hour", "last_day", "localtime", "localtimestamp",
	"makedate", "maketime", "microsecond", "minute", "month", "monthname",
	"now", "period_add", "period_diff", "quarter", "sec_to_time", "second",
	"str_to_date", "subdate", "subtime", "sysdate", "time", "time_format",
	"time_to_sec", "timediff", "timestamp", "timestampadd", "timestampdiff",
	"to_days", "to_seconds", "unix_timestamp", "utc_date", "utc_time",
	"utc_timestamp", "week", "weekday", "weekofyear", "year", "yearweek",
	// JSON
	"json_array", "json_array_append", "json_array_insert", "json_contains",
	"json_contains_path", "json_depth", "json_extract", "json_insert",
	"json_keys", "json_length", "json_merge", "json_merge_patch",
	"json_merge_preserve", "json_object", "json_overlaps", "json_quote",
	"json_remove", "json_replace", "json_schema_valid", "json_search",
	"json_set", "json_table", "json_type", "json_unquote", "json_valid",
	"json_value",
	// hashing, encryption, compression
	"aes_decrypt", "aes_encrypt", "compress", "md5", "random_bytes", "sha",
	"sha1", "sha2", "uncompress", "uncompressed_length",
	// information about the server and the statement's user
	"benchmark", "current_user", "database", "format_bytes",
	"format_pico_time", "schema", "session_user", "system_user", "user",
	"version",
	// miscellaneous
	"default", "inet6_aton", "inet6_ntoa", "inet_aton", "inet_ntoa",
	"is_ipv4", "is_ipv4_compat", "is_ipv4_mapped", "is_ipv6", "name_const",
	"sleep", "uuid", "uuid_short", "values",
	// spatial: geometry constructors, MBR and ST_ functions
	"geometrycollection", "linestring", "multilinestring", "multipoint",
	"multipolygon", "point", "polygon", "mbrcontains", "mbrdisjoint",
	"mbrequals", "mbrintersects", "mbroverlaps", "mbrtouches", "mbrwithin",
	"st_area", "st_asbinary", "st_asgeojson", "st_astext", "st_aswkb",
	"st_aswkt", "st_buffer", "st_centroid", "st_collect", "st_contains",
	"st_convexhull", "st_crosses", "st_difference", "st_dimension",
	"st_disjoint", "st_distance", "st_distance_sphere", "st_endpoint",
	"st_envelope", "st_equals", "st_exteriorring", "st_geohash",
	"st_geomcollfromtext", "st_geomcollfromwkb",
	"st_geometrycollectionfromtext", "st_geometrycollectionfromwkb",
	"st_geometryfromtext", "st_geometryfromwkb", "st_geometryn",
	"st_geometrytype", "st_geomfromgeojson", "st_geomfromtext",
	"st_geomfromwkb", "st_interiorringn", "st_intersection",
	"st_intersects", "st_isclosed", "st_isempty", "st_issimple",
	"st_isvalid", "st_latfromgeohash", "st_length", "st_linefromtext",
	"st_linefromwkb", "st_linestringfromtext", "st_linestringfromwkb",
	"st_longfromgeohash", "st_mlinefromtext", "st_mlinefromwkb",
	"st_mpointfromtext", "st_mpointfromwkb", "st_mpolyfromtext",
	"st_mpolyfromwkb", "st_multilinestringfromtext",
	"st_multilinestringfromwkb", "st_multipointfromtext",
	"st_multipointfromwkb", "st_multipolygonfromtext",
	"st_multipolygonfromwkb", "st_numgeometries", "st_numinteriorrings",
	"st_numpoints", "st_overlaps", "st_pointfromgeohash",
	"st_pointfromtext", "st_pointfromwkb", "st_pointn", "st_polyfromtext",
	"st_polyfromwkb", "st_polygonfromtext", "st_polygonfromwkb",
	"st_simplify", "st_srid", "st_startpoint", "st_symdifference",
	"st_touches", "st_union", "st_validate", "st_within", "st_x", "st_y",
}

// mysqlOnlyFuncs: read-only, session-independent built-ins of MySQL that
// MariaDB does not have (there, the name may be a stored function). The
// vector functions DISTANCE and VECTOR_DISTANCE are left out: they exist
// only in MySQL HeatWave and Enterprise builds, and "distance" is a common
// name for a stored function.
var mysqlOnlyFuncs = []string{
	"any_value", "bin_to_uuid", "geomcollection", "grouping", "gtid_subset",
	"gtid_subtract", "icu_version", "is_uuid", "json_pretty",
	"json_schema_validation_report", "json_storage_free",
	"json_storage_size", "mbrcoveredby", "mbrcovers", "regexp_like",
	"roles_graphml", "st_buffer_strategy", "st_frechetdistance",
	"st_geomcollfromtxt", "st_hausdorffdistance", "st_latitude",
	"st_lineinterpolatepoint", "st_lineinterpolatepoints", "st_longitude",
	"st_makeenvelope", "st_numinteriorring", "st_pointatdistance",
	"st_swapxy", "st_transform", "statement_digest",
	"statement_digest_text", "uuid_to_bin", "validate_password_strength",
	// vector functions (MySQL 9.0)
	"from_vector", "string_to_vector", "to_vector", "vector_dim",
	"vector_to_string",
}

// mariadbOnlyFuncs: read-only, session-independent built-ins of MariaDB
// that MySQL does not have.
var mariadbOnlyFuncs = []string{
	// aggregates, Oracle compatibility, strings, numbers, dates
	"median", "percentile_cont", "percentile_disc", "decode_oracle", "nvl",
	"nvl2", "chr", "concat_operator_oracle", "lengthb", "lpad_oracle",
	"ltrim_oracle", "natural_sort_key", "replace_oracle", "rpad_oracle",
	"rtrim_oracle", "sformat", "substr_oracle", "to_char", "trim_oracle",
	"crc32c", "add_months", "rownum", "sys_guid", "uuid_v4", "uuid_v7",
	"decode_histogram", "decode", "encode", "encrypt", "des_decrypt",
	"des_encrypt", "kdf", "old_password", "password",
	// JSON
	"json_array_intersect", "json_compact", "json_detailed", "json_equals",
	"json_exists", "json_key_value", "json_loose", "json_normalize",
	"json_object_filter_keys", "json_object_to_array", "json_query",
	// dynamic columns
	"column_add", "column_check", "column_create", "column_delete",
	"column_exists", "column_get", "column_json", "column_list",
	// vector functions (MariaDB 11.7, 11.8)
	"vec_distance", "vec_distance_cosine", "vec_distance_euclidean",
	"vec_fromtext", "vec_totext",
	// spatial: the names without ST_ that MySQL 8.0 removed, and others
	"area", "asbinary", "astext", "aswkb", "aswkt", "boundary", "buffer",
	"centroid", "contains", "convexhull", "crosses", "dimension",
	"disjoint", "endpoint", "envelope", "equals", "exteriorring",
	"geomcollfromtext", "geomcollfromwkb", "geometrycollectionfromtext",
	"geometrycollectionfromwkb", "geometryfromtext", "geometryfromwkb",
	"geometryn", "geometrytype", "geomfromtext", "geomfromwkb", "glength",
	"interiorringn", "intersects", "isclosed", "isempty", "isring",
	"issimple", "linefromtext", "linefromwkb", "linestringfromtext",
	"linestringfromwkb", "mbrequal", "mlinefromtext", "mlinefromwkb",
	"mpointfromtext", "mpointfromwkb", "mpolyfromtext", "mpolyfromwkb",
	"multilinestringfromtext", "multilinestringfromwkb",
	"multipointfromtext", "multipointfromwkb", "multipolygonfromtext",
	"multipolygonfromwkb", "numgeometries", "numinteriorrings", "numpoints",
	"overlaps", "pointfromtext", "pointfromwkb", "pointn", "pointonsurface",
	"polyfromtext", "polyfromwkb", "polygonfromtext", "polygonfromwkb",
	"srid", "startpoint", "st_boundary", "st_isring", "st_pointonsurface",
	"st_relate", "touches", "within", "x", "y",
}

// sessionFuncs: functions of both flavours that take locks, wait for
// replication, read server files or return per-session state. A statement
// calling one goes to the primary (and is not a write).
var sessionFuncs = []string{
	"connection_id", "current_role", "found_rows", "get_lock",
	"is_free_lock", "is_used_lock", "last_insert_id", "load_file",
	"master_pos_wait", "ps_thread_id", "release_all_locks", "release_lock",
	"row_count",
}

// sessionStateFuncs: functions of sessionFuncs that leave state on the
// connection once the statement is over (see Result.Session). The others
// only read the session, or wait.
var sessionStateFuncs = []string{"get_lock", "release_all_locks", "release_lock"}

// mysqlOnlySessionFuncs and mariadbOnlySessionFuncs: the same, built into
// one flavour only.
var mysqlOnlySessionFuncs = []string{
	"ps_current_thread_id", "source_pos_wait", "wait_for_executed_gtid_set",
	"wait_until_sql_thread_after_gtids",
}

var mariadbOnlySessionFuncs = []string{
	"binlog_gtid_pos", "lastval", "master_gtid_wait",
	"wsrep_last_seen_gtid", "wsrep_last_written_gtid",
	"wsrep_sync_wait_upto_gtid",
}

// seqWriteWords and seqReadWords: MariaDB sequence access, as functions
// (NEXTVAL(s)) or, in Oracle mode, as pseudo-columns (s.nextval).
var seqWriteWords = []string{"nextval", "setval"}
var seqReadWords = []string{"lastval", "currval"}

// sessionSysVars: system variables whose value is set by what the session
// did, so that reading them anywhere but on the session's own connection to
// the primary is meaningless. Plain @@name reads of other variables (such as
// @@server_id, @@version, @@read_only) are served by any server.
var sessionSysVars = []string{
	"error_count", "gtid_next", "gtid_owned", "gtid_seq_no", "identity",
	"in_transaction", "insert_id", "last_gtid", "last_insert_id",
	"pseudo_thread_id", "rand_seed1", "rand_seed2", "timestamp",
	"warning_count",
}

// sysSchemas: see fSysSchema.
var sysSchemas = []string{"information_schema", "performance_schema"}

// sessionTables: tables of information_schema and performance_schema (of
// either flavour) whose rows describe the connection that reads them, or
// every connection's variables and status: a replica's connection would
// answer for itself, not for the caller's session. Matched only qualified
// by one of sysSchemas (a bare name may be a user's table).
var sessionTables = []string{
	// information_schema
	"session_variables", "session_status", "profiling", "optimizer_trace",
	"user_variables", "enabled_roles", "role_column_grants",
	"role_routine_grants", "role_table_grants",
	// performance_schema
	"session_connect_attrs", "session_account_connect_attrs",
	"user_variables_by_thread", "status_by_thread", "variables_by_thread",
	"variables_info",
}

const (
	wordTableBits = 12
	wordTableSize = 1 << wordTableBits
	wordTableMask = wordTableSize - 1
	maxWordLen    = 40 // no entry is longer; longer words skip the lookup
)

// wordTable is an open-addressing hash table (linear probing) of the words
// above, laid out as parallel arrays so that a probe touches few cache
// lines. A slot with len 0 is empty. It is built once at initialisation and
// only read afterwards.
type wordTable struct {
	key  [wordTableSize]uint64 // wordKey(name): the first 8 bytes
	len  [wordTableSize]uint8
	id   [wordTableSize]kwID
	fl   [wordTableSize]wordFlags
	name [wordTableSize]string // lower case; compared beyond 8 bytes
}

var words = buildWordTable()

func buildWordTable() *wordTable {
	t := new(wordTable)
	n := 0
	add := func(name string, id kwID, fl wordFlags) {
		if name == "" || len(name) > maxWordLen {
			panic("sqlclass: bad word for the table: " + name)
		}
		key := wordKey(name)
		for i := wordSlot(key, len(name)); ; i = (i + 1) & wordTableMask {
			if t.len[i] == 0 {
				if n++; n > wordTableSize/2 {
					panic("sqlclass: word table too full")
				}
				t.key[i], t.len[i], t.name[i] = key, uint8(len(name)), name
			}
			if t.name[i] == name {
				if id != kwNone {
					t.id[i] = id
				}
				t.fl[i] |= fl
				return
			}
		}
	}
	for id, name := range keywordNames {
		if name != "" {
			add(name, kwID(id), 0)
		}
	}
	for _, w := range syntaxWords {
		add(w, kwNone, fSyntax)
	}
	for _, w := range writeWords {
		add(w, kwNone, fWrite)
	}
	for _, w := range builtinFuncs {
		add(w, kwNone, fBuiltin)
	}
	for _, w := range mysqlOnlyFuncs {
		add(w, kwNone, fBuiltin|fMySQLOnly)
	}
	for _, w := range mariadbOnlyFuncs {
		add(w, kwNone, fBuiltin|fMariaDBOnly)
	}
	for _, w := range spaceSensitiveFuncs {
		add(w, kwNone, fSpaceSensitive)
	}
	for _, w := range sessionFuncs {
		add(w, kwNone, fSessionFn)
	}
	for _, w := range sessionStateFuncs {
		add(w, kwNone, fSessionState)
	}
	for _, w := range mysqlOnlySessionFuncs {
		add(w, kwNone, fSessionFn|fMySQLOnly)
	}
	for _, w := range mariadbOnlySessionFuncs {
		add(w, kwNone, fSessionFn|fMariaDBOnly)
	}
	for _, w := range seqWriteWords {
		add(w, kwNone, fSeqWrite)
	}
	for _, w := range seqReadWords {
		add(w, kwNone, fSeqRead)
	}
	for _, w := range sessionSysVars {
		add(w, kwNone, fSessionVar)
	}
	for _, w := range sysSchemas {
		add(w, kwNone, fSysSchema)
	}
	for _, w := range sessionTables {
		add(w, kwNone, fSessionTable)
	}
	for _, w := range selectOptions {
		add(w, kwNone, fSelectOpt)
	}
	for i := range t.fl {
		if t.fl[i]&(fWrite|fSeqWrite|fSeqRead|fSessionTable) != 0 {
			t.fl[i] |= fReact
		}
		for _, id := range reactiveKeywords {
			if t.id[i] == id {
				t.fl[i] |= fReact
			}
		}
	}
	for i := range t.fl {
		fl := t.fl[i]
		switch {
		case fl&fMySQLOnly != 0 && fl&fMariaDBOnly != 0,
			fl&(fMySQLOnly|fMariaDBOnly) != 0 && fl&(fBuiltin|fSessionFn) == 0:
			panic("sqlclass: contradictory flavour of " + t.name[i])
		case fl&fSpaceSensitive != 0 && fl&fBuiltin == 0:
			panic("sqlclass: space-sensitive word is no built-in: " + t.name[i])
		}
	}
	return t
}

// lowerByte maps ASCII upper case letters to lower case and every other
// byte to itself.
var lowerByte = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return t
}()

// wordKey packs the first 8 bytes of w, ASCII-lower-cased, into an integer
// (little-endian, zero-padded). The lexer computes it while scanning a word.
func wordKey(w string) uint64 {
	var k uint64
	for i := 0; i < len(w) && i < 8; i++ {
		k |= uint64(lowerByte[w[i]]) << (8 * i)
	}
	return k
}

// lookupAt returns the keyword id and flags of the word s[p:q] (q > p),
// case-insensitively. When s has 8 bytes from p it builds the key with one
// 8-byte load and a branch-free ASCII lower-casing.
func lookupAt(s string, p, q int) (kwID, wordFlags) {
	n := q - p
	if n > maxWordLen {
		return kwNone, 0
	}
	var key uint64
	if p+8 <= len(s) {
		b := s[p : p+8] // one bounds check; the loads below combine into one
		x := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		const ones, highs = 0x0101010101010101, 0x8080808080808080
		low7 := x &^ highs
		ge := low7 + ones*(0x80-'A')   // high bit set where the byte's low 7 bits >= 'A'
		gt := low7 + ones*(0x80-'Z'-1) // high bit set where they are > 'Z'
		upper := (ge &^ gt) &^ x & highs
		key = x | upper>>2 // 0x80 >> 2 == 0x20, the case bit
		if n < 8 {
			key &= 1<<(8*uint(n)) - 1
		}
	} else {
		key = wordKey(s[p:q])
	}
	t := words
	for i := wordSlot(key, n); ; i = (i + 1) & wordTableMask {
		if t.key[i] == key && int(t.len[i]) == n && (n <= 8 || foldEqual(s[p+8:q], t.name[i][8:])) {
			return t.id[i], t.fl[i]
		}
		if t.len[i] == 0 {
			return kwNone, 0
		}
	}
}

// wordSlot is the first slot to probe for a word with the given key and
// length.
func wordSlot(key uint64, n int) uint32 {
	h := (key ^ uint64(n)*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	return uint32(h>>32) & wordTableMask
}

// lookupWord returns the keyword id and flags of w, case-insensitively.
func lookupWord(w string) (kwID, wordFlags) {
	if len(w) == 0 {
		return kwNone, 0
	}
	return lookupAt(w, 0, len(w))
}
