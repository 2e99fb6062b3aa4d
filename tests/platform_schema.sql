-- The platform's four tables as they exist in production, with columns the
-- sync never touches, a different index name, and rows. Used to prove the migrations adopt
-- such a database without changing it.
CREATE TABLE course_purchases (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    booking_id uuid NOT NULL UNIQUE,
    course_id uuid NOT NULL,
    class_type varchar(20) CHECK (class_type IN ('ONE_ON_ONE', 'ONE_ON_TWO', 'ONE_ON_THREE', 'HYBRID')),
    total_sessions int CHECK (total_sessions IN (10, 20, 30)),
    delivery_mode varchar(20) CHECK (delivery_mode IN ('WEEKDAY_DAILY', 'SUNDAY_ONLY')),
    start_date date NOT NULL,
    preferred_time_slot varchar(10) NOT NULL,
    student_location jsonb NOT NULL,
    students jsonb NOT NULL,
    franchise_id uuid,
    zone_id uuid,
    trainer_id uuid,
    status varchar(30) NOT NULL DEFAULT 'WAITLISTED',
    metadata jsonb,
    payment_reference text,
    invoice_total numeric(12, 2),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE purchase_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    purchase_id uuid NOT NULL,
    booking_id uuid NOT NULL,
    session_number int NOT NULL,
    session_date date NOT NULL,
    session_time varchar(10) NOT NULL,
    session_type varchar(10),
    status varchar(20) NOT NULL DEFAULT 'scheduled',
    metadata jsonb,
    room_code text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE trainer_allocations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    student_id uuid NOT NULL,
    trainer_id uuid,
    course_id uuid,
    requested_by uuid NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'pending',
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
CREATE UNIQUE INDEX idx_unique_active_allocation ON trainer_allocations
    (student_id, trainer_id, COALESCE(course_id, '00000000-0000-0000-0000-000000000000'::uuid))
    WHERE status = 'approved';
CREATE TABLE tutoring_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    allocation_id uuid NOT NULL REFERENCES trainer_allocations(id) ON DELETE CASCADE,
    student_id uuid NOT NULL,
    trainer_id uuid NOT NULL,
    course_id uuid,
    scheduled_date date NOT NULL,
    scheduled_time varchar(20) NOT NULL,
    duration int NOT NULL DEFAULT 40,
    status text NOT NULL DEFAULT 'scheduled',
    student_home_location jsonb,
    otp_code varchar(6),
    face_verification_url text,
    price numeric(10, 2),
    notes text,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Rows: two assigned purchases with sessions, one of them already synced with a completed session.
INSERT INTO course_purchases (id, booking_id, course_id, class_type, total_sessions, delivery_mode, start_date,
    preferred_time_slot, student_location, students, trainer_id, status, payment_reference, invoice_total)
VALUES
  ('a0000000-0000-0000-0000-000000000001', 'b0000000-0000-0000-0000-000000000001',
   'c0000000-0000-0000-0000-000000000001', 'ONE_ON_ONE', 10, 'WEEKDAY_DAILY', '2025-06-02', '16:00',
   '{"latitude": "12.97", "longitude": "77.59", "address": "MG Road"}',
   '[{"id": "d0000000-0000-0000-0000-000000000001", "name": "Ravi"}]',
   'e0000000-0000-0000-0000-000000000001', 'ASSIGNED', 'pay_1', 4999.00),
  ('a0000000-0000-0000-0000-000000000002', 'b0000000-0000-0000-0000-000000000002',
   'c0000000-0000-0000-0000-000000000001', 'HYBRID', 20, 'SUNDAY_ONLY', '2025-06-01', '10:00',
   '{"latitude": 19.07, "longitude": 72.87}',
   '[{"id": "d0000000-0000-0000-0000-000000000002", "name": "Meera"}]',
   'e0000000-0000-0000-0000-000000000002', 'ASSIGNED', 'pay_2', 8999.00);
INSERT INTO purchase_sessions (id, purchase_id, booking_id, session_number, session_date, session_time,
    session_type, status, room_code)
SELECT ('f000000' || p.n || '-0000-0000-0000-0000000000' || lpad(s.n::text, 2, '0'))::uuid,
       ('a0000000-0000-0000-0000-00000000000' || p.n)::uuid,
       ('b0000000-0000-0000-0000-00000000000' || p.n)::uuid,
       s.n, date '2025-06-01' + 7 * s.n, '16:00', 'offline', 'scheduled', 'R' || s.n
FROM generate_series(1, 2) p(n), generate_series(1, 10) s(n);
INSERT INTO trainer_allocations (id, student_id, trainer_id, course_id, requested_by, status, notes)
VALUES ('10000000-0000-0000-0000-000000000001', 'd0000000-0000-0000-0000-000000000002',
        'e0000000-0000-0000-0000-000000000002', 'c0000000-0000-0000-0000-000000000001',
        'd0000000-0000-0000-0000-000000000002', 'approved', 'made by hand');
INSERT INTO tutoring_sessions (id, allocation_id, student_id, trainer_id, course_id, scheduled_date, scheduled_time,
    duration, status, otp_code, price, metadata)
VALUES ('f0000002-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
        'd0000000-0000-0000-0000-000000000002', 'e0000000-0000-0000-0000-000000000002',
        'c0000000-0000-0000-0000-000000000001', '2025-06-08', '10:00', 80, 'completed', '123456', 500,
        '{"purchaseId": "a0000000-0000-0000-0000-000000000002"}');
