#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| clipper_testkit::fuzz::tsv_reader(data));
