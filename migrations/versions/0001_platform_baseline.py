"""Platform baseline: the four platform tables, created only where missing.

On a database that already holds them (the platform's own), nothing is changed: the
tables are adopted with all their columns and rows. Tables this revision creates are
recorded in ``session_sync_baseline_tables`` so that a downgrade drops only those,
and only while they are empty.

Revision ID: 0001_platform_baseline
Revises:
"""

from session_sync.migration_sql import execute

revision = "0001_platform_baseline"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE IF NOT EXISTS public.session_sync_baseline_tables (
    table_name text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE public.session_sync_baseline_tables IS
    'session-sync: platform tables created by the baseline migration (a downgrade drops only these, only when empty)';

DO $baseline$
BEGIN
    IF to_regclass('public.course_purchases') IS NULL THEN
        CREATE TABLE public.course_purchases (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            booking_id uuid NOT NULL UNIQUE,
            course_id uuid NOT NULL,
            class_type varchar(20) NOT NULL
                CHECK (class_type IN ('ONE_ON_ONE', 'ONE_ON_TWO', 'ONE_ON_THREE', 'HYBRID')),
            total_sessions integer NOT NULL CHECK (total_sessions IN (10, 20, 30)),
            delivery_mode varchar(20) NOT NULL CHECK (delivery_mode IN ('WEEKDAY_DAILY', 'SUNDAY_ONLY')),
            start_date date NOT NULL,
            preferred_time_slot varchar(10) NOT NULL,
            student_location jsonb NOT NULL,
            students jsonb NOT NULL,
            franchise_id uuid,
            zone_id uuid,
            trainer_id uuid,
            status varchar(30) NOT NULL DEFAULT 'WAITLISTED'
                CHECK (status IN ('ASSIGNED', 'WAITLISTED', 'SERVICE_NOT_AVAILABLE', 'INVALID_PURCHASE')),
            metadata jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO public.session_sync_baseline_tables (table_name) VALUES ('course_purchases');
    END IF;

    IF to_regclass('public.purchase_sessions') IS NULL THEN
        CREATE TABLE public.purchase_sessions (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            purchase_id uuid NOT NULL,
            booking_id uuid NOT NULL,
            session_number integer NOT NULL,
            session_date date NOT NULL,
            session_time varchar(10) NOT NULL,
            session_type varchar(10) CHECK (session_type IN ('offline', 'online')),
            status varchar(20) NOT NULL DEFAULT 'scheduled'
                CHECK (status IN ('scheduled', 'completed', 'cancelled', 'rescheduled')),
            metadata jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO public.session_sync_baseline_tables (table_name) VALUES ('purchase_sessions');
    END IF;

    IF to_regclass('public.trainer_allocations') IS NULL THEN
        CREATE TABLE public.trainer_allocations (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            student_id uuid NOT NULL,
            trainer_id uuid,
            course_id uuid,
            requested_by uuid NOT NULL,
            requested_at timestamptz NOT NULL DEFAULT now(),
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'rejected', 'active', 'completed', 'cancelled')),
            allocated_by uuid,
            allocated_at timestamptz,
            rejected_by uuid,
            rejected_at timestamptz,
            rejection_reason text,
            notes text,
            metadata jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX trainer_allocations_unique_approved
            ON public.trainer_allocations (student_id, trainer_id,
                COALESCE(course_id, '00000000-0000-0000-0000-000000000000'::uuid))
            WHERE status = 'approved';
        INSERT INTO public.session_sync_baseline_tables (table_name) VALUES ('trainer_allocations');
    END IF;

    IF to_regclass('public.tutoring_sessions') IS NULL THEN
        CREATE TABLE public.tutoring_sessions (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            allocation_id uuid NOT NULL REFERENCES public.trainer_allocations (id) ON DELETE CASCADE,
            student_id uuid NOT NULL,
            trainer_id uuid NOT NULL,
            course_id uuid,
            scheduled_date date NOT NULL,
            scheduled_time varchar(20) NOT NULL,
            duration integer NOT NULL DEFAULT 40,
            status text NOT NULL DEFAULT 'scheduled'
                CHECK (status IN ('scheduled', 'pending_verification', 'in_progress', 'pending_confirmation',
                                  'completed', 'disputed', 'cancelled')),
            student_home_location jsonb,
            trainer_start_location jsonb,
            trainer_end_location jsonb,
            gps_verified boolean NOT NULL DEFAULT false,
            gps_verified_at timestamptz,
            face_verification_url text,
            face_verified boolean NOT NULL DEFAULT false,
            face_verified_at timestamptz,
            otp_code varchar(10),
            otp_verified boolean NOT NULL DEFAULT false,
            otp_verified_at timestamptz,
            student_confirmed boolean NOT NULL DEFAULT false,
            student_confirmed_at timestamptz,
            dispute_reason text,
            disputed_at timestamptz,
            started_at timestamptz,
            ended_at timestamptz,
            actual_duration integer,
            price numeric(10, 2),
            notes text,
            metadata jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO public.session_sync_baseline_tables (table_name) VALUES ('tutoring_sessions');
    END IF;
END
$baseline$;
"""

DOWNGRADE = r"""
DO $baseline$
DECLARE
    v_table text;
    v_has_rows boolean;
BEGIN
    -- tutoring_sessions references trainer_allocations: drop it first.
    FOREACH v_table IN ARRAY ARRAY['tutoring_sessions', 'trainer_allocations', 'purchase_sessions', 'course_purchases']
    LOOP
        IF to_regclass('public.' || v_table) IS NULL THEN
            CONTINUE;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM public.session_sync_baseline_tables WHERE table_name = v_table) THEN
            RAISE NOTICE 'session-sync: keeping public.% (it existed before session-sync was installed)', v_table;
            CONTINUE;
        END IF;
        -- Lock first, then look: a row committed between the check and the drop would be
        -- dropped with the table.
        EXECUTE format('LOCK TABLE public.%I IN ACCESS EXCLUSIVE MODE', v_table);
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM public.%I)', v_table) INTO v_has_rows;
        IF v_has_rows THEN
            RAISE WARNING 'session-sync: keeping public.% because it holds rows; drop it by hand if you really mean to', v_table;
            CONTINUE;
        END IF;
        EXECUTE format('DROP TABLE public.%I', v_table);
    END LOOP;
END
$baseline$;
DROP TABLE public.session_sync_baseline_tables;
"""


def upgrade() -> None:
    execute(UPGRADE)


def downgrade() -> None:
    execute(DOWNGRADE)
