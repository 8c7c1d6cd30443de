package binder

import (
	"github.com/weftdb/weft/sql/pgsettings"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/udf"
)

// The pg_catalog relations that psql, pgjdbc and BI tools read, built from
// Weft's catalog when a query binds them. OIDs are bigint and names are
// text, reported to clients as oid, name and "char" (types.OIDT, NameT,
// CharT1); relations without a Weft counterpart are empty but have the
// columns clients select.

const (
	catalogNamespaceOID = 11
	publicOwnerOID      = 10
	heapAMOID           = 2
)

type catCol struct {
	name string
	t    types.T
}

var (
	tText = types.TextT
	tName = types.NameT
	tChar = types.CharT1
	tOID  = types.OIDT
	// catalog arrays, held as their text, with the element kind known
	tI2Vec   = types.T{Kind: types.Text, PG: 22, Elem: types.Int2}   // int2vector
	tOIDVec  = types.T{Kind: types.Text, PG: 30, Elem: types.Int8}   // oidvector
	tI2Arr   = types.T{Kind: types.Text, PG: 1005, Elem: types.Int2} // int2[]
	tOIDArr  = types.T{Kind: types.Text, PG: 1028, Elem: types.Int8} // oid[]
	tCharArr = types.T{Kind: types.Text, PG: 1002, Elem: types.Text} // "char"[]
	tTextArr = types.T{Kind: types.Text, PG: 1009, Elem: types.Text} // text[]
	tInt     = types.Int4T
	tI2      = types.Int2T
	tBool    = types.BoolT
)

// catalogShapes are the columns of every pg_catalog relation Weft offers.
var catalogShapes = map[string][]catCol{
	"pg_stat_activity": {{"datid", tOID}, {"datname", tName}, {"pid", tInt}, {"leader_pid", tInt}, {"usesysid", tOID}, {"usename", tName},
		{"application_name", tText}, {"client_addr", types.InetT}, {"client_hostname", tText}, {"client_port", tInt},
		{"backend_start", types.TimestampTZT}, {"xact_start", types.TimestampTZT}, {"query_start", types.TimestampTZT},
		{"state_change", types.TimestampTZT}, {"wait_event_type", tText}, {"wait_event", tText}, {"state", tText},
		{"backend_xid", tText}, {"backend_xmin", tText}, {"query_id", types.Int8T}, {"query", tText}, {"backend_type", tText}},
	"pg_namespace": {{"oid", tOID}, {"nspname", tName}, {"nspowner", tOID}, {"nspacl", tText}},
	"pg_class": {{"oid", tOID}, {"relname", tName}, {"relnamespace", tOID}, {"reltype", tOID}, {"relowner", tOID}, {"relam", tOID},
		{"relkind", tChar}, {"relnatts", tI2}, {"relhasindex", tBool}, {"relchecks", tI2}, {"relhasrules", tBool}, {"relhastriggers", tBool},
		{"relrowsecurity", tBool}, {"relforcerowsecurity", tBool}, {"relispartition", tBool}, {"reltablespace", tOID}, {"reloftype", tOID},
		{"relpersistence", tChar}, {"relreplident", tChar}, {"reltoastrelid", tOID}, {"relacl", tText}, {"reltuples", types.Float4T},
		{"relpages", tInt}, {"relhassubclass", tBool}, {"relpartbound", tText}, {"reloptions", tText}},
	"pg_attribute": {{"attrelid", tOID}, {"attname", tName}, {"atttypid", tOID}, {"attnum", tI2}, {"atttypmod", tInt}, {"attnotnull", tBool},
		{"atthasdef", tBool}, {"attisdropped", tBool}, {"attidentity", tChar}, {"attgenerated", tChar}, {"attcollation", tOID},
		{"attlen", tI2}, {"attstattarget", tInt}, {"attndims", tInt}, {"attacl", tText}, {"attstorage", tChar}, {"attcompression", tChar},
		{"attbyval", tBool}, {"attalign", tChar}, {"attislocal", tBool}, {"attinhcount", tInt}, {"attoptions", tText}, {"attfdwoptions", tText}},
	"pg_type": {{"oid", tOID}, {"typname", tName}, {"typnamespace", tOID}, {"typowner", tOID}, {"typlen", tI2}, {"typbyval", tBool},
		{"typtype", tChar}, {"typcategory", tChar}, {"typisdefined", tBool}, {"typdelim", tChar}, {"typrelid", tOID}, {"typelem", tOID},
		{"typarray", tOID}, {"typbasetype", tOID}, {"typtypmod", tInt}, {"typnotnull", tBool}, {"typcollation", tOID}, {"typinput", tText},
		{"typoutput", tText}, {"typreceive", tText}, {"typsend", tText}, {"typalign", tChar}, {"typstorage", tChar}, {"typndims", tInt},
		{"typdefault", tText}, {"typacl", tText}},
	"pg_am": {{"oid", tOID}, {"amname", tName}, {"amtype", tChar}},
	"pg_database": {{"oid", tOID}, {"datname", tName}, {"datdba", tOID}, {"encoding", tInt}, {"datcollate", tText}, {"datctype", tText}, {"datallowconn", tBool}, {"datacl", tText},
		{"datlocprovider", tChar}, {"datistemplate", tBool}, {"datconnlimit", tInt}, {"dattablespace", tOID}, {"daticulocale", tText}, {"datcollversion", tText}},
	"pg_roles": {{"rolname", tName}, {"rolsuper", tBool}, {"rolinherit", tBool}, {"rolcreaterole", tBool}, {"rolcreatedb", tBool}, {"rolcanlogin", tBool}, {"rolreplication", tBool},
		{"rolconnlimit", tInt}, {"rolpassword", tText}, {"rolvaliduntil", types.TimestampTZT}, {"rolbypassrls", tBool}, {"rolconfig", tText}, {"oid", tOID}},
	"pg_authid": {{"oid", tOID}, {"rolname", tName}, {"rolsuper", tBool}, {"rolinherit", tBool}, {"rolcreaterole", tBool}, {"rolcreatedb", tBool}, {"rolcanlogin", tBool},
		{"rolreplication", tBool}, {"rolbypassrls", tBool}, {"rolconnlimit", tInt}, {"rolpassword", tText}, {"rolvaliduntil", types.TimestampTZT}},
	"pg_settings": {{"name", tText}, {"setting", tText}, {"unit", tText}, {"category", tText}, {"short_desc", tText}, {"extra_desc", tText},
		{"context", tText}, {"vartype", tText}, {"source", tText}, {"min_val", tText}, {"max_val", tText}, {"enumvals", tTextArr},
		{"boot_val", tText}, {"reset_val", tText}, {"sourcefile", tText}, {"sourceline", tInt}, {"pending_restart", tBool}},
	"pg_proc": {{"oid", tOID}, {"proname", tName}, {"pronamespace", tOID}, {"proowner", tOID}, {"prolang", tOID}, {"procost", types.Float4T},
		{"prorows", types.Float4T}, {"provariadic", tOID}, {"prosupport", tText}, {"prokind", tChar}, {"prosecdef", tBool}, {"proleakproof", tBool},
		{"proisstrict", tBool}, {"proretset", tBool}, {"provolatile", tChar}, {"proparallel", tChar}, {"pronargs", tI2}, {"pronargdefaults", tI2},
		{"prorettype", tOID}, {"proargtypes", tOIDVec}, {"proallargtypes", tOIDArr}, {"proargmodes", tCharArr}, {"proargnames", tTextArr},
		{"proargdefaults", tText}, {"protrftypes", tOIDArr}, {"prosrc", tText}, {"probin", tText}, {"prosqlbody", tText}, {"proconfig", tTextArr}, {"proacl", tText}},
	"pg_index": {{"indexrelid", tOID}, {"indrelid", tOID}, {"indisunique", tBool}, {"indisprimary", tBool}, {"indisclustered", tBool}, {"indisvalid", tBool}, {"indisreplident", tBool}, {"indkey", tI2Vec}, {"indnatts", tI2},
		{"indnkeyatts", tI2}, {"indisexclusion", tBool}, {"indimmediate", tBool}, {"indislive", tBool}, {"indisready", tBool},
		{"indcollation", tOIDVec}, {"indclass", tOIDVec}, {"indoption", tI2Vec}, {"indexprs", tText}, {"indpred", tText}},
	"pg_constraint": {{"oid", tOID}, {"conname", tName}, {"connamespace", tOID}, {"contype", tChar}, {"condeferrable", tBool}, {"condeferred", tBool}, {"conrelid", tOID}, {"conindid", tOID}, {"confrelid", tOID}, {"conkey", tI2Arr}, {"confkey", tI2Arr},
		{"confupdtype", tChar}, {"confdeltype", tChar}, {"confmatchtype", tChar}, {"conislocal", tBool}, {"convalidated", tBool}, {"conbin", tText},
		{"contypid", tOID}, {"conparentid", tOID}},
	"pg_attrdef":              {{"oid", tOID}, {"adrelid", tOID}, {"adnum", tI2}, {"adbin", tText}},
	"pg_description":          {{"objoid", tOID}, {"classoid", tOID}, {"objsubid", tInt}, {"description", tText}},
	"pg_collation":            {{"oid", tOID}, {"collname", tName}, {"collnamespace", tOID}},
	"pg_inherits":             {{"inhrelid", tOID}, {"inhparent", tOID}, {"inhseqno", tInt}, {"inhdetachpending", tBool}},
	"pg_policy":               {{"oid", tOID}, {"polname", tName}, {"polrelid", tOID}, {"polcmd", tChar}, {"polpermissive", tBool}, {"polroles", tOIDArr}, {"polqual", tText}, {"polwithcheck", tText}},
	"pg_default_acl":          {{"oid", tOID}, {"defaclrole", tOID}, {"defaclnamespace", tOID}, {"defaclobjtype", tChar}, {"defaclacl", tText}},
	"pg_extension":            {{"oid", tOID}, {"extname", tName}, {"extowner", tOID}, {"extnamespace", tOID}, {"extrelocatable", tBool}, {"extversion", tText}, {"extconfig", tText}, {"extcondition", tText}},
	"pg_tablespace":           {{"oid", tOID}, {"spcname", tName}, {"spcowner", tOID}, {"spcacl", tText}, {"spcoptions", tText}},
	"pg_enum":                 {{"oid", tOID}, {"enumtypid", tOID}, {"enumsortorder", types.Float4T}, {"enumlabel", tName}},
	"pg_foreign_server":       {{"oid", tOID}, {"srvname", tName}, {"srvowner", tOID}, {"srvfdw", tOID}, {"srvtype", tText}, {"srvversion", tText}, {"srvacl", tText}, {"srvoptions", tText}},
	"pg_foreign_data_wrapper": {{"oid", tOID}, {"fdwname", tName}, {"fdwowner", tOID}, {"fdwhandler", tOID}, {"fdwvalidator", tOID}, {"fdwacl", tText}, {"fdwoptions", tText}},
	"pg_user_mapping":         {{"oid", tOID}, {"umuser", tOID}, {"umserver", tOID}, {"umoptions", tText}},
	"pg_cast":                 {{"oid", tOID}, {"castsource", tOID}, {"casttarget", tOID}, {"castfunc", tOID}, {"castcontext", tChar}, {"castmethod", tChar}},
	"pg_operator": {{"oid", tOID}, {"oprname", tName}, {"oprnamespace", tOID}, {"oprowner", tOID}, {"oprkind", tChar}, {"oprcanmerge", tBool}, {"oprcanhash", tBool},
		{"oprleft", tOID}, {"oprright", tOID}, {"oprresult", tOID}, {"oprcom", tOID}, {"oprnegate", tOID}, {"oprcode", tOID}, {"oprrest", tOID}, {"oprjoin", tOID}},
	"pg_event_trigger":         {{"oid", tOID}, {"evtname", tName}, {"evtevent", tName}, {"evtowner", tOID}, {"evtfoid", tOID}, {"evtenabled", tChar}, {"evttags", tText}},
	"pg_conversion":            {{"oid", tOID}, {"conname", tName}, {"connamespace", tOID}, {"conowner", tOID}, {"conforencoding", tInt}, {"contoencoding", tInt}, {"conproc", tText}, {"condefault", tBool}},
	"pg_largeobject_metadata":  {{"oid", tOID}, {"lomowner", tOID}, {"lomacl", tText}},
	"pg_ts_config":             {{"oid", tOID}, {"cfgname", tName}, {"cfgnamespace", tOID}, {"cfgowner", tOID}, {"cfgparser", tOID}},
	"pg_ts_parser":             {{"oid", tOID}, {"prsname", tName}, {"prsnamespace", tOID}},
	"pg_ts_dict":               {{"oid", tOID}, {"dictname", tName}, {"dictnamespace", tOID}, {"dictowner", tOID}, {"dicttemplate", tOID}, {"dictinitoption", tText}},
	"pg_ts_template":           {{"oid", tOID}, {"tmplname", tName}, {"tmplnamespace", tOID}},
	"pg_db_role_setting":       {{"setdatabase", tOID}, {"setrole", tOID}, {"setconfig", tText}},
	"pg_opclass":               {{"oid", tOID}, {"opcmethod", tOID}, {"opcname", tName}, {"opcnamespace", tOID}, {"opcowner", tOID}, {"opcfamily", tOID}, {"opcintype", tOID}, {"opcdefault", tBool}, {"opckeytype", tOID}},
	"pg_subscription":          {{"oid", tOID}, {"subdbid", tOID}, {"subname", tName}, {"subowner", tOID}, {"subenabled", tBool}, {"subbinary", tBool}, {"substream", tChar}, {"subtwophasestate", tChar}, {"subdisableonerr", tBool}, {"subconninfo", tText}, {"subslotname", tName}, {"subsynccommit", tText}, {"subpublications", tText}},
	"pg_user_mappings":         {{"umid", tOID}, {"srvid", tOID}, {"srvname", tName}, {"umuser", tOID}, {"usename", tName}, {"umoptions", tText}},
	"pg_opfamily":              {{"oid", tOID}, {"opfmethod", tOID}, {"opfname", tName}, {"opfnamespace", tOID}, {"opfowner", tOID}},
	"pg_language":              {{"oid", tOID}, {"tableoid", tOID}, {"lanname", tName}, {"lanowner", tOID}, {"lanispl", tBool}, {"lanpltrusted", tBool}, {"lanplcallfoid", tOID}, {"laninline", tOID}, {"lanvalidator", tOID}, {"lanacl", tText}},
	"pg_sequence":              {{"seqrelid", tOID}, {"seqtypid", tOID}, {"seqstart", types.Int8T}, {"seqincrement", types.Int8T}, {"seqmax", types.Int8T}, {"seqmin", types.Int8T}, {"seqcache", types.Int8T}, {"seqcycle", tBool}},
	"pg_trigger":               {{"oid", tOID}, {"tgrelid", tOID}, {"tgparentid", tOID}, {"tgname", tName}, {"tgfoid", tOID}, {"tgtype", tI2}, {"tgenabled", tChar}, {"tgisinternal", tBool}, {"tgconstraint", tOID}},
	"pg_rewrite":               {{"oid", tOID}, {"ev_class", tOID}, {"rulename", tName}},
	"pg_statistic_ext":         {{"oid", tOID}, {"stxrelid", tOID}, {"stxname", tName}, {"stxnamespace", tOID}, {"stxowner", tOID}, {"stxstattarget", tInt}, {"stxkeys", tI2Vec}, {"stxkind", tCharArr}, {"stxexprs", tText}},
	"pg_publication":           {{"oid", tOID}, {"pubname", tName}, {"pubowner", tOID}, {"puballtables", tBool}, {"pubinsert", tBool}, {"pubupdate", tBool}, {"pubdelete", tBool}, {"pubtruncate", tBool}, {"pubviaroot", tBool}},
	"pg_publication_rel":       {{"oid", tOID}, {"prpubid", tOID}, {"prrelid", tOID}, {"prqual", tText}, {"prattrs", tI2Vec}},
	"pg_publication_namespace": {{"oid", tOID}, {"pnpubid", tOID}, {"pnnspid", tOID}},
	"pg_auth_members":          {{"roleid", tOID}, {"member", tOID}, {"grantor", tOID}, {"admin_option", tBool}},
	"pg_user":                  {{"usename", tName}, {"usesysid", tOID}, {"usecreatedb", tBool}, {"usesuper", tBool}, {"userepl", tBool}, {"usebypassrls", tBool}, {"passwd", tText}, {"valuntil", types.TimestampTZT}, {"useconfig", tText}},
	"pg_tables":                {{"schemaname", tName}, {"tablename", tName}, {"tableowner", tName}, {"tablespace", tName}, {"hasindexes", tBool}, {"hasrules", tBool}, {"hastriggers", tBool}, {"rowsecurity", tBool}},
	"pg_views":                 {{"schemaname", tName}, {"viewname", tName}, {"viewowner", tName}, {"definition", tText}},
	"pg_indexes":               {{"schemaname", tName}, {"tablename", tName}, {"indexname", tName}, {"tablespace", tName}, {"indexdef", tText}},
	"pg_matviews":              {{"schemaname", tName}, {"matviewname", tName}, {"matviewowner", tName}, {"tablespace", tName}, {"hasindexes", tBool}, {"ispopulated", tBool}, {"definition", tText}},
	"pg_sequences":             {{"schemaname", tName}, {"sequencename", tName}, {"sequenceowner", tName}, {"data_type", tText}, {"start_value", types.Int8T}, {"min_value", types.Int8T}, {"max_value", types.Int8T}, {"increment_by", types.Int8T}, {"cycle", tBool}, {"cache_size", types.Int8T}, {"last_value", types.Int8T}},
	"pg_range":                 {{"rngtypid", tOID}, {"rngsubtype", tOID}, {"rngmultitypid", tOID}, {"rngcollation", tOID}, {"rngsubopc", tOID}, {"rngcanonical", tOID}, {"rngsubdiff", tOID}},
	"pg_foreign_table":         {{"ftrelid", tOID}, {"ftserver", tOID}},
	"pg_partitioned_table":     {{"partrelid", tOID}, {"partstrat", tChar}},
	"pg_depend":                {{"classid", tOID}, {"objid", tOID}, {"objsubid", tInt}, {"refclassid", tOID}, {"refobjid", tOID}, {"refobjsubid", tInt}, {"deptype", tChar}},
	"pg_stat_user_tables":      statTablesShape,
	"pg_stat_all_tables":       statTablesShape,
	"pg_statio_user_tables":    statioTablesShape,
	"pg_statio_all_tables":     statioTablesShape,
	"pg_stat_user_indexes":     statIndexesShape,
	"pg_stat_all_indexes":      statIndexesShape,
	"pg_statio_user_indexes":   statioIndexesShape,
	"pg_statio_all_indexes":    statioIndexesShape,
	"pg_stat_user_functions":   {{"funcid", tOID}, {"schemaname", tName}, {"funcname", tName}, {"calls", tI8}, {"total_time", types.Float8T}, {"self_time", types.Float8T}},
	"pg_stat_database": {{"datid", tOID}, {"datname", tName}, {"numbackends", tInt}, {"xact_commit", tI8}, {"xact_rollback", tI8},
		{"blks_read", tI8}, {"blks_hit", tI8}, {"tup_returned", tI8}, {"tup_fetched", tI8}, {"tup_inserted", tI8}, {"tup_updated", tI8},
		{"tup_deleted", tI8}, {"conflicts", tI8}, {"temp_files", tI8}, {"temp_bytes", tI8}, {"deadlocks", tI8}, {"checksum_failures", tI8},
		{"checksum_last_failure", tStamp}, {"blk_read_time", types.Float8T}, {"blk_write_time", types.Float8T}, {"session_time", types.Float8T},
		{"active_time", types.Float8T}, {"idle_in_transaction_time", types.Float8T}, {"sessions", tI8}, {"sessions_abandoned", tI8},
		{"sessions_fatal", tI8}, {"sessions_killed", tI8}, {"stats_reset", tStamp}},
	// the row locks held and waited for (engine/pglocks.go); table and
	// advisory locks are not listed
	"pg_locks": {{"locktype", tText}, {"database", tOID}, {"relation", tOID}, {"page", tInt}, {"tuple", tI2}, {"virtualxid", tText},
		{"transactionid", tText}, {"classid", tOID}, {"objid", tOID}, {"objsubid", tI2}, {"virtualtransaction", tText}, {"pid", tInt},
		{"mode", tText}, {"granted", tBool}, {"fastpath", tBool}, {"waitstart", tStamp}},
}

var (
	tI8             = types.Int8T
	tStamp          = types.TimestampTZT
	statTablesShape = []catCol{{"relid", tOID}, {"schemaname", tName}, {"relname", tName}, {"seq_scan", tI8}, {"seq_tup_read", tI8},
		{"idx_scan", tI8}, {"idx_tup_fetch", tI8}, {"n_tup_ins", tI8}, {"n_tup_upd", tI8}, {"n_tup_del", tI8}, {"n_tup_hot_upd", tI8},
		{"n_live_tup", tI8}, {"n_dead_tup", tI8}, {"n_mod_since_analyze", tI8}, {"n_ins_since_vacuum", tI8}, {"last_vacuum", tStamp},
		{"last_autovacuum", tStamp}, {"last_analyze", tStamp}, {"last_autoanalyze", tStamp}, {"vacuum_count", tI8},
		{"autovacuum_count", tI8}, {"analyze_count", tI8}, {"autoanalyze_count", tI8}}
	statIndexesShape = []catCol{{"relid", tOID}, {"indexrelid", tOID}, {"schemaname", tName}, {"relname", tName}, {"indexrelname", tName},
		{"idx_scan", tI8}, {"idx_tup_read", tI8}, {"idx_tup_fetch", tI8}}
	statioIndexesShape = []catCol{{"relid", tOID}, {"indexrelid", tOID}, {"schemaname", tName}, {"relname", tName}, {"indexrelname", tName},
		{"idx_blks_read", tI8}, {"idx_blks_hit", tI8}}
	statioTablesShape = []catCol{{"relid", tOID}, {"schemaname", tName}, {"relname", tName}, {"heap_blks_read", tI8}, {"heap_blks_hit", tI8},
		{"idx_blks_read", tI8}, {"idx_blks_hit", tI8}, {"toast_blks_read", tI8}, {"toast_blks_hit", tI8}, {"tidx_blks_read", tI8}, {"tidx_blks_hit", tI8}}
)

// builtinTypes are the types pg_type lists (oid, name, length, category).
var builtinTypes = []struct {
	oid      int64
	name     string
	len      int64
	category string
}{
	{16, "bool", 1, "B"}, {17, "bytea", -1, "U"}, {18, "char", 1, "Z"}, {19, "name", 64, "S"}, {20, "int8", 8, "N"},
	{21, "int2", 2, "N"}, {23, "int4", 4, "N"}, {25, "text", -1, "S"}, {26, "oid", 4, "N"}, {114, "json", -1, "U"},
	{700, "float4", 4, "N"}, {701, "float8", 8, "N"}, {1042, "bpchar", -1, "S"}, {1043, "varchar", -1, "S"},
	{1082, "date", 4, "D"}, {1083, "time", 8, "D"}, {1114, "timestamp", 8, "D"}, {1184, "timestamptz", 8, "D"},
	{1186, "interval", 16, "T"}, {1700, "numeric", -1, "N"}, {2950, "uuid", 16, "U"}, {3802, "jsonb", -1, "U"},
}

// pseudoTypes are PostgreSQL's pseudo-types (typtype p): no column has
// one, but tools name them (pgcli filters functions with
// prorettype::regtype != 'trigger'::regtype).
var pseudoTypes = []struct {
	oid  int64
	name string
}{
	{2249, "record"}, {2275, "cstring"}, {2276, "any"}, {2277, "anyarray"}, {2278, "void"}, {2279, "trigger"},
	{2281, "internal"}, {2283, "anyelement"}, {2776, "anynonarray"}, {3500, "anyenum"}, {3838, "event_trigger"},
}

// pgCatalogView builds a pg_catalog relation, or reports it unknown.
func (b *Binder) pgCatalogView(name string) (logical.Plan, bool) {
	shape, ok := catalogShapes[name]
	if !ok {
		return nil, false
	}
	rel := &relationRows{shape: shape, missing: zeroOf}
	row := rel.add
	switch name {
	case "pg_default_acl":
		for _, d := range b.Cat.DefaultPrivilegesList() {
			ns := int64(0)
			if sc, ok := b.Cat.Schema(d.Schema); ok && d.Schema != "" {
				ns = int64(sc.OID)
			}
			row(map[string]types.Datum{"oid": int64(d.OID), "defaclrole": roleOID(b, d.Role), "defaclnamespace": ns,
				"defaclobjtype": string(rune(d.Kind)), "defaclacl": catalog.FormatACL(d.ACL)})
		}
	case "pg_extension":
		// plpgsql is always there, as in a new PostgreSQL cluster
		row(map[string]types.Datum{"oid": int64(13002), "extname": "plpgsql", "extowner": int64(publicOwnerOID), "extnamespace": int64(catalogNamespaceOID),
			"extrelocatable": false, "extversion": "1.0", "extconfig": nil, "extcondition": nil})
		for _, e := range b.Cat.Extensions() {
			ns := int64(catalogNamespaceOID)
			if sc, ok := b.Cat.Schema(e.Schema); ok {
				ns = int64(sc.OID)
			}
			row(map[string]types.Datum{"oid": int64(e.OID), "extname": e.Name, "extowner": int64(publicOwnerOID), "extnamespace": ns,
				"extrelocatable": true, "extversion": e.Version, "extconfig": nil, "extcondition": nil})
		}
	case "pg_namespace":
		row(map[string]types.Datum{"oid": int64(catalogNamespaceOID), "nspname": "pg_catalog", "nspowner": int64(publicOwnerOID), "nspacl": nil})
		row(map[string]types.Datum{"oid": int64(13000), "nspname": "information_schema", "nspowner": int64(publicOwnerOID), "nspacl": nil})
		for _, s := range b.Cat.Schemas() {
			row(map[string]types.Datum{"oid": int64(s.OID), "nspname": s.Name, "nspowner": b.ownerOID(s.OID, catalog.KindSchema), "nspacl": b.aclText(s.OID, catalog.KindSchema)})
		}
	case "pg_class":
		// PostgreSQL enforces foreign keys with triggers, and psql shows
		// foreign keys only for tables that have some
		referenced := map[uint32]bool{}
		for _, s := range b.Cat.Schemas() {
			for _, t := range s.Tables {
				for _, fk := range t.ForeignKeys {
					referenced[fk.RefOID] = true
				}
			}
		}
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				row(map[string]types.Datum{"oid": int64(t.OID), "relname": t.Name, "relnamespace": int64(s.OID), "relowner": b.ownerOID(t.OID, catalog.KindTable),
					"relam": int64(heapAMOID), "relkind": relkindOf(t), "relnatts": int64(len(t.Columns)), "relpersistence": "p", "relreplident": "d", "relhasindex": len(t.Keys)+len(t.Indexes) > 0, "relchecks": int64(len(t.Checks)),
					"relhastriggers": len(t.ForeignKeys) > 0 || referenced[t.OID],
					"relacl":         b.aclText(t.OID, catalog.KindTable), "relpartbound": nil, "reloptions": tableOptions(t), "reltuples": float64(-1)})
			}
			for _, v := range s.Views {
				row(map[string]types.Datum{"oid": int64(v.OID), "relname": v.Name, "relnamespace": int64(s.OID), "relowner": b.ownerOID(v.OID, catalog.KindView),
					"relkind": "v", "relnatts": int64(len(b.viewColumns(v))), "relpersistence": "p", "relreplident": "n", "relacl": b.aclText(v.OID, catalog.KindView), "relpartbound": nil, "reloptions": nil, "reltuples": float64(-1)})
			}
			for _, q := range s.Sequences {
				row(map[string]types.Datum{"oid": int64(q.OID), "relname": q.Name, "relnamespace": int64(s.OID), "relowner": b.ownerOID(q.OID, catalog.KindSequence),
					"relkind": "S", "relnatts": int64(3), "relpersistence": "p", "relreplident": "n", "relacl": b.aclText(q.OID, catalog.KindSequence), "relpartbound": nil,
					"reloptions": nil, "reltuples": float64(1)})
			}
			for _, t := range sortedTables(s.Tables) {
				for _, k := range allIndexes(t) {
					row(map[string]types.Datum{"oid": int64(k.OID), "relname": k.Name, "relnamespace": int64(s.OID), "relowner": b.ownerOID(t.OID, catalog.KindTable),
						"relam": int64(btreeAMOID), "relkind": "i", "relnatts": int64(len(k.Columns)), "relpersistence": "p", "relreplident": "n",
						"relacl": nil, "relpartbound": nil, "reloptions": nil, "reltuples": float64(-1)})
				}
			}
		}
	case "pg_index":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				for _, k := range allIndexes(t) {
					zeros := strings.TrimSpace(strings.Repeat("0 ", len(k.Columns)))
					row(map[string]types.Datum{"indexrelid": int64(k.OID), "indrelid": int64(t.OID), "indisunique": !k.NonUnique, "indisprimary": k.Primary,
						"indisclustered": false, "indisvalid": true, "indisreplident": false, "indkey": attnums(k, " "), "indnatts": int64(len(k.Columns)),
						"indnkeyatts": int64(len(k.Columns)), "indisexclusion": false, "indimmediate": true, "indislive": true, "indisready": true,
						"indcollation": zeros, "indclass": zeros, "indoption": zeros, "indexprs": nil, "indpred": nil})
				}
			}
		}
	case "pg_attribute":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				for i, c := range t.Columns {
					vals := attributeRow(t.OID, i, c.Name, c.Type)
					if c.ACL != nil {
						vals["attacl"] = catalog.FormatACL(c.ACL)
					}
					if c.Domain != 0 {
						vals["atttypid"] = int64(c.Domain) // pg_attribute names the domain; values are its base type
					}
					// an identity column's sequence is no DEFAULT in PostgreSQL
					vals["attnotnull"], vals["atthasdef"], vals["attidentity"] = c.NotNull, c.Default != "" && c.Identity == "" || c.Generated != "", c.Identity
					if c.Generated != "" {
						vals["attgenerated"] = "s" // stored
					}
					row(vals)
				}
			}
			for _, v := range sortedTables(s.Views) {
				for i, c := range b.viewColumns(v) {
					row(attributeRow(v.OID, i, c.name, c.t))
				}
			}
		}
	case "pg_depend":
		b.dependencies(row)
	case "pg_stat_user_indexes", "pg_stat_all_indexes", "pg_statio_user_indexes", "pg_statio_all_indexes":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				for _, k := range allIndexes(t) {
					row(map[string]types.Datum{"relid": int64(t.OID), "indexrelid": int64(k.OID), "schemaname": s.Name, "relname": t.Name, "indexrelname": k.Name})
				}
			}
		}
	case "pg_stat_database":
		row(map[string]types.Datum{"datid": int64(16384), "datname": "weft", "numbackends": b.backendCount(), "checksum_failures": nil,
			"checksum_last_failure": nil, "stats_reset": nil})
	case "pg_stat_user_tables", "pg_stat_all_tables", "pg_statio_user_tables", "pg_statio_all_tables":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				row(tableStatsRow(s, t))
			}
		}
	case "pg_attrdef":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				for i, c := range t.Columns {
					switch {
					case c.Generated != "":
						row(map[string]types.Datum{"oid": attrdefOID(t, i), "adrelid": int64(t.OID), "adnum": int64(i + 1), "adbin": shownGenerated(c.Generated)})
					case c.Default != "" && c.Identity == "":
						row(map[string]types.Datum{"oid": attrdefOID(t, i), "adrelid": int64(t.OID), "adnum": int64(i + 1), "adbin": shownDefault(c)})
					}
				}
			}
		}
	case "pg_type":
		for _, t := range builtinTypes {
			arrayOID := int64(types.ArrayOID(uint32(t.oid)))
			row(map[string]types.Datum{"oid": t.oid, "typname": t.name, "typnamespace": int64(catalogNamespaceOID), "typowner": int64(publicOwnerOID),
				"typlen": t.len, "typbyval": t.len > 0 && t.len <= 8, "typtype": "b", "typcategory": t.category, "typisdefined": true,
				"typdelim": ",", "typtypmod": int64(-1), "typinput": t.name + "in", "typoutput": t.name + "out", "typarray": arrayOID,
				"typreceive": t.name + "recv", "typsend": t.name + "send", "typalign": map[bool]string{true: "d", false: "i"}[t.len == 8],
				"typstorage": map[bool]string{true: "p", false: "x"}[t.len > 0], "typdefault": nil, "typacl": nil})
		}
		// their array types (_int4 …), which drivers look up by name
		for _, t := range builtinTypes {
			if arrayOID := int64(types.ArrayOID(uint32(t.oid))); arrayOID != 0 {
				row(map[string]types.Datum{"oid": arrayOID, "typname": "_" + t.name, "typnamespace": int64(catalogNamespaceOID), "typowner": int64(publicOwnerOID),
					"typlen": int64(-1), "typbyval": false, "typtype": "b", "typcategory": "A", "typisdefined": true, "typdelim": ",",
					"typelem": t.oid, "typtypmod": int64(-1), "typinput": "array_in", "typoutput": "array_out", "typreceive": "array_recv",
					"typsend": "array_send", "typalign": map[bool]string{true: "d", false: "i"}[t.len == 8], "typstorage": "x", "typdefault": nil, "typacl": nil})
			}
		}
		for _, pt := range pseudoTypes {
			row(map[string]types.Datum{"oid": pt.oid, "typname": pt.name, "typnamespace": int64(catalogNamespaceOID), "typowner": int64(publicOwnerOID),
				"typlen": int64(4), "typbyval": true, "typtype": "p", "typcategory": "P", "typisdefined": true, "typdelim": ",", "typtypmod": int64(-1),
				"typinput": pt.name + "_in", "typoutput": pt.name + "_out", "typreceive": "-", "typsend": "-", "typalign": "i", "typstorage": "p",
				"typdefault": nil, "typacl": nil})
		}
		for _, u := range b.Cat.Types() {
			ns := int64(0)
			if sc, ok := b.Cat.Schema(u.Schema); ok {
				ns = int64(sc.OID)
			}
			common := func(m map[string]types.Datum) map[string]types.Datum {
				m["typnamespace"], m["typowner"], m["typisdefined"], m["typdelim"], m["typdefault"], m["typacl"] = ns, int64(publicOwnerOID), true, ",", nil, nil
				return m
			}
			if u.Enum != nil {
				row(common(map[string]types.Datum{"oid": int64(u.OID), "typname": u.Name, "typlen": int64(4), "typbyval": true, "typtype": "e",
					"typcategory": "E", "typarray": int64(u.ArrayOID), "typtypmod": int64(-1), "typinput": "enum_in", "typoutput": "enum_out",
					"typreceive": "enum_recv", "typsend": "enum_send", "typalign": "i", "typstorage": "p"}))
			} else if u.IsComposite() {
				// (PostgreSQL also lists a composite type in pg_class, as
				// typrelid; Weft's pg_class has tables only)
				row(common(map[string]types.Datum{"oid": int64(u.OID), "typname": u.Name, "typlen": int64(-1), "typtype": "c",
					"typcategory": "C", "typarray": int64(u.ArrayOID), "typtypmod": int64(-1), "typinput": "record_in", "typoutput": "record_out",
					"typreceive": "record_recv", "typsend": "record_send", "typalign": "d", "typstorage": "x"}))
			} else {
				row(common(map[string]types.Datum{"oid": int64(u.OID), "typname": u.Name, "typlen": int64(-1), "typtype": "d",
					"typcategory": builtinCategory(u.Base.OID()), "typarray": int64(u.ArrayOID), "typbasetype": int64(u.Base.OID()), "typtypmod": int64(-1),
					"typnotnull": u.NotNull, "typinput": "domain_in", "typoutput": "-", "typreceive": "domain_recv", "typsend": "-", "typalign": "i", "typstorage": "p"}))
			}
			row(common(map[string]types.Datum{"oid": int64(u.ArrayOID), "typname": "_" + u.Name, "typlen": int64(-1), "typtype": "b", "typcategory": "A",
				"typelem": int64(u.OID), "typtypmod": int64(-1), "typinput": "array_in", "typoutput": "array_out", "typreceive": "array_recv",
				"typsend": "array_send", "typalign": "i", "typstorage": "x"}))
		}
	case "pg_constraint":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				for _, k := range t.Keys {
					if k.IndexOnly {
						continue
					}
					row(map[string]types.Datum{"oid": int64(k.ConOID), "conname": k.Name, "connamespace": int64(s.OID), "contype": map[bool]string{true: "p", false: "u"}[k.Primary],
						"condeferrable": false, "condeferred": false, "conrelid": int64(t.OID), "conindid": int64(k.OID), "conkey": "{" + attnums(k, ",") + "}",
						"confkey": nil, "conislocal": true, "convalidated": true, "contypid": int64(0), "confrelid": int64(0)})
				}
				for _, fk := range t.ForeignKeys {
					row(map[string]types.Datum{"oid": int64(fk.ConOID), "conname": fk.Name, "connamespace": int64(s.OID), "contype": "f",
						"condeferrable": false, "condeferred": false, "conrelid": int64(t.OID), "conindid": int64(b.refIndexOID(fk)), "conkey": pgIntArray(fk.Columns),
						"confkey": pgIntArray(fk.RefColumns), "confrelid": int64(fk.RefOID), "confupdtype": actionOr(fk.OnUpdate), "confdeltype": actionOr(fk.OnDelete),
						"confmatchtype": "s", "conislocal": true, "convalidated": true, "contypid": int64(0)})
				}
				for _, c := range t.Checks {
					row(map[string]types.Datum{"oid": int64(c.ConOID), "conname": c.Name, "connamespace": int64(s.OID), "contype": "c",
						"condeferrable": false, "condeferred": false, "conrelid": int64(t.OID), "conindid": int64(0), "conkey": nil,
						"confkey": nil, "conislocal": true, "convalidated": true, "contypid": int64(0), "confrelid": int64(0), "conbin": c.Expr})
				}
			}
		}
		for _, u := range b.Cat.Types() {
			if u.Check == "" {
				continue
			}
			ns := int64(0)
			if sc, ok := b.Cat.Schema(u.Schema); ok {
				ns = int64(sc.OID)
			}
			row(map[string]types.Datum{"oid": domainCheckOID(u.OID), "conname": u.CheckName, "connamespace": ns, "contype": "c",
				"contypid": int64(u.OID), "conislocal": true, "convalidated": true, "conbin": u.Check, "conkey": nil, "confkey": nil})
		}
	case "pg_description":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				if t.Comment != "" {
					row(map[string]types.Datum{"objoid": int64(t.OID), "classoid": int64(1259), "objsubid": int64(0), "description": t.Comment})
				}
				for i, c := range t.Columns {
					if c.Comment != "" {
						row(map[string]types.Datum{"objoid": int64(t.OID), "classoid": int64(1259), "objsubid": int64(i + 1), "description": c.Comment})
					}
				}
			}
		}
	case "pg_indexes":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				for _, k := range allIndexes(t) {
					row(map[string]types.Datum{"schemaname": s.Name, "tablename": t.Name, "indexname": k.Name, "tablespace": nil,
						"indexdef": b.indexDef(int64(k.OID), 0)})
				}
			}
		}
	case "pg_sequence":
		for _, q := range b.Cat.Sequences() {
			row(map[string]types.Datum{"seqrelid": int64(q.OID), "seqtypid": int64(20), "seqstart": q.Start, "seqincrement": q.Increment,
				"seqmax": q.Max, "seqmin": q.Min, "seqcache": int64(1), "seqcycle": q.Cycle})
		}
	case "pg_enum":
		for _, u := range b.Cat.Types() {
			if u.Enum == nil {
				continue
			}
			for i, l := range u.Enum.Labels {
				row(map[string]types.Datum{"oid": int64(u.OID)*1000 + int64(i), "enumtypid": int64(u.OID), "enumsortorder": float64(i + 1), "enumlabel": l})
			}
		}
	case "pg_user":
		for _, r := range b.Cat.Roles() {
			if r.Login {
				row(map[string]types.Datum{"usename": r.Name, "usesysid": int64(r.OID), "usecreatedb": r.CreateDB, "usesuper": r.Superuser,
					"userepl": r.Replication, "usebypassrls": r.BypassRLS, "passwd": "********", "valuntil": validUntil(r), "useconfig": nil})
			}
		}
	case "pg_tables":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				if t.MatView != "" {
					continue // (pg_matviews lists those)
				}
				row(map[string]types.Datum{"schemaname": s.Name, "tablename": t.Name, "tableowner": b.Cat.Privileges(t.OID, catalog.KindTable).Owner, "tablespace": nil})
			}
		}
	case "pg_matviews":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				if t.MatView != "" {
					row(map[string]types.Datum{"schemaname": s.Name, "matviewname": t.Name, "matviewowner": b.Cat.Privileges(t.OID, catalog.KindTable).Owner,
						"tablespace": nil, "hasindexes": len(t.Keys)+len(t.Indexes) > 0, "ispopulated": !t.Unpopulated, "definition": " " + t.MatView + ";"})
				}
			}
		}
	case "pg_views":
		for _, s := range b.Cat.Schemas() {
			for _, v := range sortedTables(s.Views) {
				row(map[string]types.Datum{"schemaname": s.Name, "viewname": v.Name, "viewowner": b.Cat.Privileges(v.OID, catalog.KindView).Owner, "definition": " " + v.SQL + ";"})
			}
		}
	case "pg_tablespace":
		row(map[string]types.Datum{"oid": int64(1663), "spcname": "pg_default", "spcowner": int64(publicOwnerOID), "spcacl": nil, "spcoptions": nil})
		row(map[string]types.Datum{"oid": int64(1664), "spcname": "pg_global", "spcowner": int64(publicOwnerOID), "spcacl": nil, "spcoptions": nil})
	case "pg_language":
		row(map[string]types.Datum{"oid": int64(12), "lanname": "internal", "lanowner": int64(publicOwnerOID)})
		row(map[string]types.Datum{"oid": int64(14), "lanname": "sql", "lanowner": int64(publicOwnerOID), "lanpltrusted": true})
		row(map[string]types.Datum{"oid": int64(plpgsqlLangOID), "lanname": "plpgsql", "lanowner": int64(publicOwnerOID), "lanispl": true, "lanpltrusted": true})
		row(map[string]types.Datum{"oid": int64(wasmLangOID), "lanname": "wasm", "lanowner": int64(publicOwnerOID), "lanispl": true, "lanpltrusted": true})
	case "pg_am":
		row(map[string]types.Datum{"oid": int64(heapAMOID), "amname": "heap", "amtype": "t"})
		row(map[string]types.Datum{"oid": int64(btreeAMOID), "amname": "btree", "amtype": "i"})
	case "pg_database":
		row(map[string]types.Datum{"oid": int64(16384), "datname": "weft", "datdba": int64(publicOwnerOID), "encoding": int64(6), "datcollate": "C", "datctype": "C", "datallowconn": true, "datacl": b.aclText(16384, catalog.KindDatabase),
			"datlocprovider": "c", "datconnlimit": int64(-1), "daticulocale": nil, "datcollversion": nil})
	case "pg_roles", "pg_authid":
		for _, r := range b.Cat.Roles() {
			vals := roleRow(r)
			if name == "pg_roles" {
				vals["rolpassword"] = "********"
			} else if r.Verifier != "" {
				vals["rolpassword"] = r.Verifier
			}
			row(vals)
		}
	case "pg_auth_members":
		for _, m := range b.Cat.Memberships() {
			row(map[string]types.Datum{"roleid": roleOID(b, m.Role), "member": roleOID(b, m.Member), "grantor": roleOID(b, m.Grantor), "admin_option": m.Admin})
		}
	case "pg_stat_activity":
		b.statActivity(row)
	case "pg_locks":
		b.lockRows(row)
	case "pg_settings":
		b.settingsRows(row)
	case "pg_proc":
		for _, f := range b.Cat.Functions() {
			vals := procRow(f.UDF)
			vals["oid"], vals["pronamespace"], vals["proowner"], vals["proacl"] = int64(f.OID), schemaOID(b, f.Schema), b.ownerOID(f.OID, catalog.KindFunction), b.aclText(f.OID, catalog.KindFunction)
			row(vals)
		}
	}
	return rel.plan(b), true
}

// procRow is a function's pg_proc row but for its identity and owner:
// the signature as pgjdbc's getFunctionColumns and psql's \df read it
// (proargtypes an oidvector; a table function's columns in proallargtypes
// with mode t and their names in proargnames).
func procRow(f *udf.Function) map[string]types.Datum {
	kind, volatile := "f", "i"
	if f.IsAggregate() {
		kind = "a"
	}
	if f.Volatile {
		volatile = "v"
	}
	argOIDs := make([]string, len(f.Args))
	for i, a := range f.Args {
		argOIDs[i] = strconv.Itoa(int(a.OID()))
	}
	vals := map[string]types.Datum{"proname": f.Name, "prolang": int64(wasmLangOID), "procost": float64(1), "prorows": float64(0),
		"provariadic": int64(0), "prosupport": "-", "prokind": kind, "prosecdef": false, "proleakproof": false, "proisstrict": f.Strict,
		"proretset": false, "provolatile": volatile, "proparallel": "u", "pronargs": int64(len(f.Args)), "pronargdefaults": int64(0),
		"prorettype": int64(f.Result.OID()), "proargtypes": strings.Join(argOIDs, " "), "proallargtypes": nil, "proargmodes": nil,
		"proargnames": nil, "proargdefaults": nil, "protrftypes": nil, "prosrc": f.Export, "probin": nil, "prosqlbody": nil, "proconfig": nil}
	if f.SQL != nil {
		vals["prolang"], vals["prosrc"] = int64(14), f.SQL.Text
		if f.SQL.PL != nil {
			vals["prolang"], vals["proretset"] = int64(plpgsqlLangOID), f.SQL.PL.SetOf
		}
		if slices.ContainsFunc(f.SQL.ArgNames, func(n string) bool { return n != "" }) {
			names := make([]*string, len(f.SQL.ArgNames))
			for i := range f.SQL.ArgNames {
				names[i] = &f.SQL.ArgNames[i]
			}
			vals["proargnames"] = exec.FormatTextArray(names)
		}
	}
	if f.IsTable() || f.Columns != nil {
		vals["proretset"], vals["prorettype"], vals["prorows"] = true, int64(2249), float64(1000) // record
		all, modes, names := append([]string{}, argOIDs...), make([]string, 0, len(f.Args)+len(f.Columns)), make([]string, 0, len(f.Args)+len(f.Columns))
		for range f.Args {
			modes, names = append(modes, "i"), append(names, `""`)
		}
		for _, c := range f.Columns {
			all, modes, names = append(all, strconv.Itoa(int(c.T.OID()))), append(modes, "t"), append(names, c.Name)
		}
		vals["proallargtypes"], vals["proargmodes"], vals["proargnames"] = "{"+strings.Join(all, ",")+"}", "{"+strings.Join(modes, ",")+"}", "{"+strings.Join(names, ",")+"}"
	}
	return vals
}

// attrdefOID numbers column i's default in pg_attrdef (defaults are no
// catalog objects of their own in Weft).
func attrdefOID(t *catalog.Table, i int) int64 { return int64(t.OID)*1000 + int64(i) }

// plpgsqlLangOID is pg_language's row for PL/pgSQL (PostgreSQL 15's
// initdb gives it 13563 in a fresh cluster; tools look it up by name).
const plpgsqlLangOID = 13563

// wasmLangOID is pg_language's row for wasm functions.
const wasmLangOID = 16400

// dependencies lists what pg_depend says tools look for: the sequence a
// serial (deptype a) or identity (i) column owns, and a table's plain
// indexes (a).
func (b *Binder) dependencies(row func(map[string]types.Datum)) {
	const pgClass, pgAttrdef = int64(1259), int64(2604)
	seqs := b.Cat.Sequences()
	for _, s := range b.Cat.Schemas() {
		for _, t := range sortedTables(s.Tables) {
			for i, c := range t.Columns {
				if c.Default != "" && c.Identity == "" {
					// the default belongs to its column (a)
					row(map[string]types.Datum{"classid": pgAttrdef, "objid": attrdefOID(t, i), "objsubid": int64(0), "refclassid": pgClass,
						"refobjid": int64(t.OID), "refobjsubid": int64(i + 1), "deptype": "a"})
				}
				if q := ownedSequence(seqs, t, i); q != nil {
					row(map[string]types.Datum{"classid": pgClass, "objid": int64(q.OID), "objsubid": int64(0), "refclassid": pgClass,
						"refobjid": int64(t.OID), "refobjsubid": int64(i + 1), "deptype": map[bool]string{true: "i", false: "a"}[c.Identity != ""]})
					if c.Identity == "" && c.Default != "" {
						// a serial's nextval default uses the sequence (n)
						row(map[string]types.Datum{"classid": pgAttrdef, "objid": attrdefOID(t, i), "objsubid": int64(0), "refclassid": pgClass,
							"refobjid": int64(q.OID), "refobjsubid": int64(0), "deptype": "n"})
					}
				}
			}
			for _, k := range t.Indexes {
				row(map[string]types.Datum{"classid": pgClass, "objid": int64(k.OID), "objsubid": int64(0), "refclassid": pgClass,
					"refobjid": int64(t.OID), "refobjsubid": int64(0), "deptype": "a"})
			}
		}
	}
}

// attributeRow is the pg_attribute row of a column of a table or view.
func attributeRow(rel uint32, i int, name string, t types.T) map[string]types.Datum {
	length, storage, align := int64(-1), "x", "i"
	for _, bt := range builtinTypes {
		if bt.oid == int64(t.OID()) && bt.len > 0 {
			length, storage, align = bt.len, "p", map[bool]string{true: "d", false: "i"}[bt.len == 8]
		}
	}
	return map[string]types.Datum{"attrelid": int64(rel), "attname": name, "atttypid": int64(t.OID()), "attnum": int64(i + 1),
		"atttypmod": int64(typmod(t)), "attnotnull": false, "atthasdef": false, "attidentity": "", "attlen": length, "attacl": nil,
		"attstorage": storage, "attalign": align, "attbyval": length > 0 && length <= 8, "attstattarget": int64(-1), "attislocal": true,
		"attoptions": nil, "attfdwoptions": nil}
}

// tableStatsRow is a table's row in pg_stat_*_tables and
// pg_statio_*_tables: Weft keeps no access counters, so they are zero,
// but n_live_tup is the table's row count (what size estimates read).
func tableStatsRow(s *catalog.Schema, t *catalog.Table) map[string]types.Datum {
	snap := t.Snapshot()
	live := snap.NumRows()
	snap.Release()
	return map[string]types.Datum{"relid": int64(t.OID), "schemaname": s.Name, "relname": t.Name, "n_live_tup": live,
		"n_ins_since_vacuum": live, "n_mod_since_analyze": live, "last_vacuum": nil, "last_autovacuum": nil, "last_analyze": nil, "last_autoanalyze": nil}
}

// serverSettings are the parameters whose built-in value in Weft differs
// from PostgreSQL's, or describes Weft's server (the rest come from
// package pgsettings).
var serverSettings = []struct {
	name, value, unit, category, vartype, context string
}{
	{"DateStyle", "ISO, MDY", "", "Client Connection Defaults / Locale and Formatting", "string", "user"},
	{"IntervalStyle", "postgres", "", "Client Connection Defaults / Locale and Formatting", "enum", "user"},
	{"TimeZone", "UTC", "", "Client Connection Defaults / Locale and Formatting", "string", "user"},
	{"application_name", "", "", "Reporting and Logging / What to Log", "string", "user"},
	{"block_size", "8192", "", "Preset Options", "integer", "internal"},
	{"client_encoding", "UTF8", "", "Client Connection Defaults / Locale and Formatting", "string", "user"},
	{"default_transaction_isolation", "read committed", "", "Client Connection Defaults / Statement Behavior", "enum", "user"},
	{"default_transaction_read_only", "off", "", "Client Connection Defaults / Statement Behavior", "bool", "user"},
	{"extra_float_digits", "1", "", "Client Connection Defaults / Locale and Formatting", "integer", "user"},
	{"integer_datetimes", "on", "", "Preset Options", "bool", "internal"},
	{"lc_collate", "C", "", "Preset Options", "string", "internal"},
	{"lc_ctype", "C", "", "Preset Options", "string", "internal"},
	{"max_connections", "100", "", "Connections and Authentication / Connection Settings", "integer", "postmaster"},
	{"max_identifier_length", "63", "", "Preset Options", "integer", "internal"},
	{"max_index_keys", "32", "", "Preset Options", "integer", "internal"},
	{"search_path", `"$user", public`, "", "Client Connection Defaults / Statement Behavior", "string", "user"},
	{"server_encoding", "UTF8", "", "Preset Options", "string", "internal"},
	{"server_version", "15.0", "", "Preset Options", "string", "internal"},
	{"server_version_num", "150000", "", "Preset Options", "integer", "internal"},
	{"standard_conforming_strings", "on", "", "Version and Platform Compatibility / Previous PostgreSQL Versions", "bool", "user"},
	{"statement_timeout", "0", "ms", "Client Connection Defaults / Statement Behavior", "integer", "user"},
	{"transaction_isolation", "read committed", "", "Client Connection Defaults / Statement Behavior", "enum", "user"},
	{"transaction_read_only", "off", "", "Client Connection Defaults / Statement Behavior", "bool", "user"},
}

// settingsRows lists pg_settings: every PostgreSQL 15 parameter, with
// the values Weft gives some of them (serverSettings) and the session's
// own where it has one. setting, boot_val and reset_val are in the
// parameter's unit ("4096" kB), as PostgreSQL prints them.
func (b *Binder) settingsRows(row func(map[string]types.Datum)) {
	weft := map[string]int{}
	for i, st := range serverSettings {
		weft[st.name] = i
	}
	for _, p := range pgsettings.All() {
		boot := p.Boot
		if i, ok := weft[p.Name]; ok {
			boot = serverSettings[i].value
		}
		v := boot
		if b.Setting != nil {
			if cur, ok := b.Setting(p.Name); ok && (cur != "" || p.Name == "application_name") {
				v = inBaseUnits(&p, cur)
			}
		}
		if p.Name == "TimeZone" {
			v = b.timeZoneName()
		}
		source := "default"
		if v != boot && p.Context != "internal" && p.Context != "postmaster" {
			source = "session"
		}
		row(map[string]types.Datum{"name": p.Name, "setting": v, "unit": nullIfEmpty(p.Unit), "category": p.Category, "short_desc": "", "extra_desc": nil,
			"context": p.Context, "vartype": p.Type, "source": source, "min_val": nullIfEmpty(p.Min), "max_val": nullIfEmpty(p.Max), "enumvals": enumValues(p.Enum),
			"boot_val": boot, "reset_val": boot, "sourcefile": nil, "sourceline": nil, "pending_restart": false})
	}
}

// inBaseUnits turns a value as SHOW prints it ("4MB") into the number of
// the parameter's units pg_settings shows ("4096").
func inBaseUnits(p *pgsettings.Param, show string) string {
	if p.Type != "integer" && p.Type != "real" {
		return show
	}
	n, err := p.BaseUnits(show)
	if err != nil {
		return show
	}
	return strconv.FormatFloat(n, 'g', -1, 64)
}

func nullIfEmpty(s string) types.Datum {
	if s == "" {
		return nil
	}
	return s
}

func enumValues(vals []string) types.Datum {
	if vals == nil {
		return nil
	}
	elems := make([]*string, len(vals))
	for i := range vals {
		elems[i] = &vals[i]
	}
	return exec.FormatTextArray(elems)
}

// backendCount is the number of sessions (pg_stat_database.numbackends).
func (b *Binder) backendCount() int64 {
	if b.Env == nil || b.Env.Backends == nil {
		return 1
	}
	return int64(len(b.Env.Backends.Activity()))
}

// statActivity lists the database's sessions with what they run.
func (b *Binder) statActivity(row func(map[string]types.Datum)) {
	if b.Env == nil || b.Env.Backends == nil {
		return
	}
	micros := func(t time.Time) types.Datum {
		if t.IsZero() {
			return nil
		}
		return t.UTC().UnixMicro()
	}
	for _, a := range b.Env.Backends.Activity() {
		var addr, port types.Datum
		if host, p, err := net.SplitHostPort(a.ClientAddr); err == nil {
			addr = host
			if n, err := strconv.Atoi(p); err == nil {
				port = int64(n)
			}
		}
		if a.ClientAddr == "" {
			port = int64(-1) // PostgreSQL's value for a Unix socket or no client
		}
		if a.Restricted {
			row(map[string]types.Datum{"datid": int64(16384), "datname": a.Database, "pid": int64(a.PID), "leader_pid": nil,
				"usesysid": int64(publicOwnerOID), "usename": a.User, "application_name": a.AppName, "client_addr": nil,
				"client_hostname": nil, "client_port": nil, "backend_start": nil, "xact_start": nil, "query_start": nil,
				"state_change": nil, "wait_event_type": nil, "wait_event": nil, "state": nil, "backend_xid": nil,
				"backend_xmin": nil, "query_id": nil, "query": a.Query, "backend_type": nil})
			continue
		}
		row(map[string]types.Datum{"datid": int64(16384), "datname": a.Database, "pid": int64(a.PID), "leader_pid": nil,
			"usesysid": int64(publicOwnerOID), "usename": a.User, "application_name": a.AppName, "client_addr": addr,
			"client_hostname": nil, "client_port": port, "backend_start": micros(a.BackendStart), "xact_start": nil,
			"query_start": micros(a.QueryStart), "state_change": micros(a.StateChange), "wait_event_type": nil, "wait_event": nil,
			"state": a.State, "backend_xid": nil, "backend_xmin": nil, "query_id": nil, "query": a.Query, "backend_type": a.BackendType})
	}
}

// lockRows lists the locks pg_locks shows (engine/pglocks.go says which).
func (b *Binder) lockRows(row func(map[string]types.Datum)) {
	if b.Env == nil || b.Env.Backends == nil {
		return
	}
	orNull := func(ok bool, v types.Datum) types.Datum {
		if !ok {
			return nil
		}
		return v
	}
	for _, l := range b.Env.Backends.Locks() {
		row(map[string]types.Datum{"locktype": l.LockType, "database": orNull(l.Relation != 0, int64(16384)),
			"relation": orNull(l.Relation != 0, int64(l.Relation)), "page": nil, "tuple": nil, "virtualxid": nil,
			"transactionid": orNull(l.TransactionID != "", l.TransactionID), "classid": nil, "objid": nil, "objsubid": nil,
			"virtualtransaction": strconv.Itoa(int(l.PID)) + "/1", "pid": int64(l.PID), "mode": l.Mode, "granted": l.Granted,
			"fastpath": false, "waitstart": orNull(!l.WaitStart.IsZero(), l.WaitStart.UTC().UnixMicro())})
	}
}

// relationRows collects the rows of a catalog relation of a given shape;
// a column a row does not name gets missing(type).
type relationRows struct {
	shape   []catCol
	rows    [][]types.Datum
	missing func(types.T) types.Datum
}

func (r *relationRows) add(vals map[string]types.Datum) {
	row := make([]types.Datum, len(r.shape))
	for i, c := range r.shape {
		if v, ok := vals[c.name]; ok {
			row[i] = v
		} else {
			row[i] = r.missing(c.t)
		}
	}
	r.rows = append(r.rows, row)
}

func (r *relationRows) plan(b *Binder) logical.Plan {
	names := make([]string, len(r.shape))
	ts := make([]types.T, len(r.shape))
	for i, c := range r.shape {
		names[i], ts[i] = c.name, c.t
	}
	return b.valuesOf(names, ts, r.rows)
}

func schemaOID(b *Binder, name string) types.Datum {
	if s, ok := b.Cat.Schema(name); ok {
		return int64(s.OID)
	}
	return nil
}

func typmod(t types.T) int32 {
	switch t.Kind {
	case types.Varchar, types.Char:
		if t.Len > 0 {
			return t.Len + 4
		}
	case types.Numeric:
		if t.Prec > 0 {
			return (t.Prec<<16 | t.Scale) + 4
		}
	}
	return -1
}

func zeroOf(t types.T) types.Datum {
	switch {
	case t.Kind == types.Bool:
		return false
	case t.IsInteger():
		return int64(0)
	case t.IsString():
		return ""
	}
	return nil
}

func sortedTables[T any](m map[string]*T) []*T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*T, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// builtinCategory is pg_type.typcategory of a built-in type.
func builtinCategory(oid uint32) string {
	for _, t := range builtinTypes {
		if t.oid == int64(oid) {
			return t.category
		}
	}
	return "U"
}

// domainCheckOID numbers a domain's CHECK constraint in pg_constraint
// (constraints are not catalog objects of their own in Weft).
func domainCheckOID(domain uint32) int64 { return 2_000_000_000 + int64(domain) }

// btreeAMOID is PostgreSQL's btree access method, which key indexes claim.
const btreeAMOID = 403

// attnums lists a key's column numbers (1-based) joined by sep.
func attnums(k catalog.Key, sep string) string {
	parts := make([]string, len(k.Columns))
	for i, c := range k.Columns {
		parts[i] = strconv.Itoa(c + 1)
	}
	return strings.Join(parts, sep)
}

// keyColumnList is "(a, b)" for a key.
func keyColumnList(t *catalog.Table, k catalog.Key) string {
	names := make([]string, len(k.Columns))
	for i, c := range k.Columns {
		names[i] = exec.QuoteIdentIfNeeded(t.Columns[c].Name)
	}
	return "(" + strings.Join(names, ", ") + ")"
}

// findKey finds the table key whose index (or constraint, when con) has oid.
func (b *Binder) findKey(oid int64, con bool) (*catalog.Table, catalog.Key, bool) {
	for _, s := range b.Cat.Schemas() {
		for _, t := range s.Tables {
			for _, k := range allIndexes(t) {
				if !con && int64(k.OID) == oid || con && !k.NonUnique && int64(k.ConOID) == oid {
					return t, k, true
				}
			}
		}
	}
	return nil, catalog.Key{}, false
}

// indexDef is pg_get_indexdef for a key's index ("" for other oids): the
// CREATE INDEX statement, or with col > 0 that index column alone.
func (b *Binder) indexDef(oid, col int64) string {
	t, k, ok := b.findKey(oid, false)
	if !ok {
		return ""
	}
	if col > 0 {
		if int(col) > len(k.Columns) {
			return ""
		}
		return exec.QuoteIdentIfNeeded(t.Columns[k.Columns[col-1]].Name)
	}
	create := "CREATE UNIQUE INDEX "
	if k.NonUnique {
		create = "CREATE INDEX "
	}
	return create + exec.QuoteIdentIfNeeded(k.Name) + " ON " + exec.QuoteIdentIfNeeded(t.Schema) + "." +
		exec.QuoteIdentIfNeeded(t.Name) + " USING btree " + keyColumnList(t, k)
}

// constraintDef is pg_get_constraintdef for the constraints pg_constraint
// lists ("" when oid is none of them).
func (b *Binder) constraintDef(oid int64, pretty bool) string {
	check := func(expr string) string {
		if pretty {
			return "CHECK (" + expr + ")"
		}
		return "CHECK ((" + expr + "))"
	}
	if t, k, ok := b.findKey(oid, true); ok {
		if k.Primary {
			return "PRIMARY KEY " + keyColumnList(t, k)
		}
		return "UNIQUE " + keyColumnList(t, k)
	}
	for _, u := range b.Cat.Types() {
		if u.Check != "" && domainCheckOID(u.OID) == oid {
			return check(upperValue(u.Check))
		}
	}
	for _, s := range b.Cat.Schemas() {
		for _, t := range s.Tables {
			for _, c := range t.Checks {
				if int64(c.ConOID) == oid {
					return check(c.Expr)
				}
			}
			for _, fk := range t.ForeignKeys {
				if int64(fk.ConOID) == oid {
					return b.foreignKeyDef(t, fk)
				}
			}
		}
	}
	return ""
}

// upperValue writes a domain check's VALUE keyword in capitals, as
// PostgreSQL prints it (the deparser gives the lower-case identifier);
// quoted text is left alone.
func upperValue(sql string) string {
	var sb strings.Builder
	inQuote := false
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		if c == '\'' {
			inQuote = !inQuote
		}
		if !inQuote && strings.HasPrefix(sql[i:], "value") && !identByte(sql, i-1) && !identByte(sql, i+5) {
			sb.WriteString("VALUE")
			i += 4
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

func identByte(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	c := s[i]
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// pgIntArray is an int2[] literal of 1-based column numbers.
func pgIntArray(cols []int) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = strconv.Itoa(c + 1)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// actionOr is a foreign key action letter, NO ACTION when unset.
func actionOr(a string) string {
	if a == "" {
		return "a"
	}
	return a
}

// refIndexOID is the index of the key a foreign key references.
func (b *Binder) refIndexOID(fk catalog.ForeignKey) uint32 {
	if parent := b.Cat.TableByOID(fk.RefOID); parent != nil {
		for _, k := range parent.Keys {
			if len(k.Columns) == len(fk.RefColumns) {
				match := true
				for _, c := range fk.RefColumns {
					match = match && slicesContains(k.Columns, c)
				}
				if match {
					return k.OID
				}
			}
		}
	}
	return 0
}

func slicesContains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// foreignKeyDef is pg_get_constraintdef of a foreign key.
func (b *Binder) foreignKeyDef(t *catalog.Table, fk catalog.ForeignKey) string {
	cols := func(tab *catalog.Table, idx []int) string {
		names := make([]string, len(idx))
		for i, c := range idx {
			names[i] = exec.QuoteIdentIfNeeded(tab.Columns[c].Name)
		}
		return strings.Join(names, ", ")
	}
	parent := b.Cat.TableByOID(fk.RefOID)
	if parent == nil {
		return ""
	}
	ref := exec.QuoteIdentIfNeeded(parent.Name)
	if !slicesContainsString(b.SearchPath, parent.Schema) {
		ref = exec.QuoteIdentIfNeeded(parent.Schema) + "." + ref
	}
	def := "FOREIGN KEY (" + cols(t, fk.Columns) + ") REFERENCES " + ref + "(" + cols(parent, fk.RefColumns) + ")"
	switch fk.OnDelete {
	case "r":
		def += " ON DELETE RESTRICT"
	case "c":
		def += " ON DELETE CASCADE"
	case "n":
		def += " ON DELETE SET NULL"
	}
	if fk.OnUpdate == "r" {
		def += " ON UPDATE RESTRICT"
	}
	return def
}

func slicesContainsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// description is obj_description/col_description for tables and columns
// ("" for none).
func (b *Binder) description(oid, attnum int64) string {
	for _, s := range b.Cat.Schemas() {
		for _, t := range s.Tables {
			if int64(t.OID) != oid {
				continue
			}
			if attnum == 0 {
				return t.Comment
			}
			if attnum > 0 && int(attnum) <= len(t.Columns) {
				return t.Columns[attnum-1].Comment
			}
		}
	}
	return ""
}

// allIndexes are a table's key indexes and its other indexes.
func allIndexes(t *catalog.Table) []catalog.Key {
	return append(append([]catalog.Key{}, t.Keys...), t.Indexes...)
}

// timeZoneName is the session's TimeZone setting as SHOW displays it.
func (b *Binder) timeZoneName() string {
	if b.Env == nil || b.Env.ZoneName == "" {
		return "UTC"
	}
	return b.Env.ZoneName
}

// roleRow is a role's pg_roles / pg_authid row (without the password).
func roleRow(r catalog.Role) map[string]types.Datum {
	limit := int64(-1)
	if r.ConnLimit != nil {
		limit = int64(*r.ConnLimit)
	}
	return map[string]types.Datum{"oid": int64(r.OID), "rolname": r.Name, "rolsuper": r.Superuser, "rolinherit": !r.NoInherit,
		"rolcreaterole": r.CreateRole, "rolcreatedb": r.CreateDB, "rolcanlogin": r.Login, "rolreplication": r.Replication,
		"rolbypassrls": r.BypassRLS, "rolconnlimit": limit, "rolvaliduntil": validUntil(r), "rolpassword": nil, "rolconfig": nil}
}

// validUntil is VALID UNTIL as a timestamptz datum (NULL: no limit).
func validUntil(r catalog.Role) types.Datum {
	if r.ValidUntil == nil {
		return nil
	}
	return r.ValidUntil.UnixMicro()
}

// roleOID is a role's OID by name (0 for PUBLIC or a dropped role).
func roleOID(b *Binder, name string) types.Datum {
	if r, ok := b.Cat.Role(name); ok {
		return int64(r.OID)
	}
	return int64(0)
}

// ownerOID is an object's owner as pg_class.relowner & co. show it.
func (b *Binder) ownerOID(oid uint32, kind catalog.ObjectKind) types.Datum {
	return roleOID(b, b.Cat.Privileges(oid, kind).Owner)
}

// aclText is an object's ACL as aclitem[] text, NULL while it has the
// default one (as PostgreSQL shows it).
func (b *Binder) aclText(oid uint32, kind catalog.ObjectKind) types.Datum {
	p := b.Cat.Privileges(oid, kind)
	if !p.Explicit {
		return nil
	}
	return catalog.FormatACL(p.ACL)
}

// tableOptions is a table's pg_class.reloptions, as PostgreSQL's text[]
// prints: the weft.cache storage parameter when set, else NULL.
func tableOptions(t *catalog.Table) types.Datum {
	if t.Cache == "" {
		return nil
	}
	return "{weft.cache=" + t.Cache + "}"
}

// relkindOf is pg_class.relkind of a table: 'm' for a materialized view.
func relkindOf(t *catalog.Table) string {
	if t.MatView != "" {
		return "m"
	}
	return "r"
}
