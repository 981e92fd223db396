;; Flow log line scanner: finds one line's separators sixteen bytes at a time (SIMD) and decodes
;; the fields the analysis reads, where the line lies in this module's memory. The parser in
;; record.ts owns the layout below and copies the decompressed bytes into INPUT.
;; Compile with `npm run build:wasm` (wabt), which writes scan-wasm.ts.
;;
;; Memory layout (bytes):
;;     0  FROM      i32[32]  each slot's first byte, -1 when the field is "-"
;;   128  TO        i32[32]  each slot's end (its separator)
;;   256  VALUE     f64[32]  each numeric slot's number, -1 when absent
;;   512  HOT_SLOTS i32[32]  the slots to decode, in field order
;;   640  HOT_POS   i32[32]  the field position of each of those slots
;;   768  NUMERIC   u8[32]   1 for slots that hold a number
;;  1024  SEPS      i32[256] separator positions of the line (the last is its newline)
;;  4096  INPUT     the lines, with at least 16 bytes of room after them for the last vector
(module
  (memory (export "memory") 19 19)

  ;; next(pos, end, fields, hot) scans the line that starts at pos (a newline lies before end) and
  ;; returns (newline << 2) | outcome: 0 a record, decoded; 1 slow (blanks that are not single
  ;; spaces, control characters, the wrong number of fields, a number that is not one); 2 blank.
  (func (export "next") (param $pos i32) (param $end i32) (param $fields i32) (param $hot i32) (result i32)
    (local $p i32) (local $mask i32) (local $at i32) (local $c i32) (local $count i32)
    (local $previous i32) (local $odd i32) (local $newline i32) (local $k i32) (local $slot i32)
    (local $position i32) (local $first i32) (local $last i32) (local $j i32) (local $digit i32)
    (local $value f64)
    (local.set $p (local.get $pos))
    (local.set $previous (i32.sub (local.get $pos) (i32.const 1)))
    (local.set $newline (i32.const -1))
    (block $found
      (loop $vectors
        ;; One bit per byte at or below a space: blanks, newlines and control characters.
        (local.set $mask
          (i8x16.bitmask (i8x16.le_u (v128.load (local.get $p)) (i8x16.splat (i32.const 32)))))
        (block $bits_done
          (loop $bits
            (br_if $bits_done (i32.eqz (local.get $mask)))
            (local.set $at (i32.add (local.get $p) (i32.ctz (local.get $mask))))
            (local.set $mask (i32.and (local.get $mask) (i32.sub (local.get $mask) (i32.const 1))))
            (local.set $c (i32.load8_u (local.get $at)))
            ;; Two separators in a row (or one first on the line): not single spaces.
            (if (i32.eq (local.get $at) (i32.add (local.get $previous) (i32.const 1)))
              (then (local.set $odd (i32.const 1))))
            (local.set $previous (local.get $at))
            (if (i32.lt_u (local.get $count) (i32.const 255))
              (then
                (i32.store (i32.add (i32.const 1024) (i32.shl (local.get $count) (i32.const 2))) (local.get $at))
                (local.set $count (i32.add (local.get $count) (i32.const 1))))
              (else (local.set $odd (i32.const 1))))
            (if (i32.eq (local.get $c) (i32.const 10))
              (then
                (local.set $newline (local.get $at))
                (br $found)))
            (if (i32.ne (local.get $c) (i32.const 32))
              (then (local.set $odd (i32.const 1))))
            (br $bits)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br_if $vectors (i32.lt_u (local.get $p) (local.get $end)))))
    ;; The caller promised a newline; without one, the rest is left to the slow path.
    (if (i32.lt_s (local.get $newline) (i32.const 0))
      (then (return (i32.or (i32.shl (i32.sub (local.get $end) (i32.const 1)) (i32.const 2)) (i32.const 1)))))
    (if (i32.eq (local.get $newline) (local.get $pos))
      (then (return (i32.or (i32.shl (local.get $newline) (i32.const 2)) (i32.const 2)))))
    (if (i32.or (local.get $odd) (i32.ne (local.get $count) (local.get $fields)))
      (then (return (i32.or (i32.shl (local.get $newline) (i32.const 2)) (i32.const 1)))))
    (block $decoded
      (loop $slots
        (br_if $decoded (i32.ge_u (local.get $k) (local.get $hot)))
        (local.set $slot (i32.load (i32.add (i32.const 512) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $position (i32.load (i32.add (i32.const 640) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $first
          (if (result i32) (i32.eqz (local.get $position))
            (then (local.get $pos))
            (else
              (i32.add
                (i32.load (i32.add (i32.const 1024) (i32.shl (i32.sub (local.get $position) (i32.const 1)) (i32.const 2))))
                (i32.const 1)))))
        (local.set $last (i32.load (i32.add (i32.const 1024) (i32.shl (local.get $position) (i32.const 2)))))
        (if (i32.and
              (i32.eq (i32.sub (local.get $last) (local.get $first)) (i32.const 1))
              (i32.eq (i32.load8_u (local.get $first)) (i32.const 45)))
          (then
            ;; "-": absent
            (i32.store (i32.shl (local.get $slot) (i32.const 2)) (i32.const -1))
            (f64.store (i32.add (i32.const 256) (i32.shl (local.get $slot) (i32.const 3))) (f64.const -1)))
          (else
            (i32.store (i32.shl (local.get $slot) (i32.const 2)) (local.get $first))
            (i32.store (i32.add (i32.const 128) (i32.shl (local.get $slot) (i32.const 2))) (local.get $last))
            (if (i32.load8_u (i32.add (i32.const 768) (local.get $slot)))
              (then
                ;; Decimal digits, in a double like the JavaScript it replaces (exact to 2^53).
                (local.set $value (f64.const 0))
                (local.set $j (local.get $first))
                (block $number
                  (loop $digits
                    (br_if $number (i32.ge_u (local.get $j) (local.get $last)))
                    (local.set $digit (i32.sub (i32.load8_u (local.get $j)) (i32.const 48)))
                    (if (i32.gt_u (local.get $digit) (i32.const 9))
                      (then (return (i32.or (i32.shl (local.get $newline) (i32.const 2)) (i32.const 1)))))
                    (local.set $value
                      (f64.add (f64.mul (local.get $value) (f64.const 10)) (f64.convert_i32_u (local.get $digit))))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $digits)))
                (f64.store (i32.add (i32.const 256) (i32.shl (local.get $slot) (i32.const 3))) (local.get $value))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $slots)))
    (i32.shl (local.get $newline) (i32.const 2)))
)
