// The target that owns the shared precompiled header (cmake/ApPrecompiledHeaders.cmake).
