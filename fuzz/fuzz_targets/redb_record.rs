#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| apikeys_fuzz_targets::redb_record(data));
