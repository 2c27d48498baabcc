import ModelIO
import _FuzzSupport

// A libFuzzer target over the GGUF reader (header, metadata, tensor table), the block
// decoding of what it accepts, and the model mapping and loading of files that name an
// architecture: no input may crash it. Built normally, it replays the files
// given as arguments; built by `scripts/fuzz.sh gguf SECONDS`, libFuzzer drives it.

/// Parses one input; every failure must be a thrown error.
func check(_ bytes: UnsafeRawBufferPointer) {
  guard let file = try? GGUFFile(bytes: bytes) else { return }
  for name in file.names.prefix(16) { _ = try? file.matrix(name) }
  // A model whose held weights stay small is loaded whole (the loader checks every shape
  // against the metadata before it allocates).
  guard let checkpoint = try? HuggingFaceCheckpoint(gguf: file),
    (try? checkpoint.estimatedHeldBytes()) ?? .max < 1 << 26
  else { return }
  _ = try? checkpoint.model()
  _ = try? BPETokenizer(gguf: file)
}

#if FUZZING
  /// libFuzzer's entry point: one input.
  @_cdecl("LLVMFuzzerTestOneInput")
  public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
  }

  /// The program's entry point under SwiftPM's renaming of `main`.
  @_cdecl("fuzz_gguf_main")
  public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzz)
  }
#else
  @main
  enum Replay {
    static func main() throws { try FuzzDriver.replay(check) }
  }
#endif
