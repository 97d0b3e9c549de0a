// CRC-32C (Castagnoli), the checksum of every WAL record and snapshot.
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise; same results.
// Pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kv::crc32c {

// Extends `crc` (the CRC of some prefix) with data[0..n).
uint32_t extend(uint32_t crc, const void* data, size_t n);
inline uint32_t value(const void* data, size_t n) { return extend(0, data, n); }

}  // namespace kv::crc32c
