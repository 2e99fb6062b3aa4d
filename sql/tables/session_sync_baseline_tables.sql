CREATE TABLE IF NOT EXISTS public.session_sync_baseline_tables (
    table_name text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE public.session_sync_baseline_tables IS 'the platform tables revision 0001 created (the database lacked them): downgrading
past 0001 drops only these, and only while empty; adopted tables are never dropped.';
COMMENT ON COLUMN public.session_sync_baseline_tables.table_name IS 'a platform table 0001 created';
COMMENT ON COLUMN public.session_sync_baseline_tables.created_at IS 'when';
