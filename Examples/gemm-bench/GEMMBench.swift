import ArgumentParser
import COpenBLAS
import Linalg
import Report
import _ExampleSupport

/// Measures `Linalg`'s GEMM, grouped GEMM and GEMV against direct CBLAS calls made in
/// the same run, and prints each figure beside its baseline as a ratio.
@main
struct GEMMBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gemm-bench",
    abstract: "GEMM, grouped GEMM and GEMV throughput of Linalg beside direct CBLAS calls.")

  @OptionGroup var threading: ThreadsOption

  @Option(help: "Timed repetitions per figure; the median is reported.")
  var repetitions: Int = 5

  @Option(help: "Seed for the random operands.")
  var seed: UInt64 = 1

  @Option(help: "Output: text (titled markdown tables) or json (one object of tables of records).")
  var format: OutputFormat = .text

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

  @Flag(help: "Small sizes and few repetitions: a smoke run of a few seconds.")
  var quick = false

  func validate() throws {
    try OptionLimits.check("--repetitions", repetitions, in: 1...1000)
  }

  func run() throws {
    threading.apply()
    BLAS.warnIfGenericKernels()
    // Phases on standard error: one per section (GEMM, grouped, GEMV, few rows, kernels).
    var progress = ProgressBar(total: 5, stage: "gemm-bench")
    var sections: [(key: String, title: String, table: Table)] = [] {
      didSet { progress.advance(label: sections.last?.key ?? "") }
    }
    let timer = Timer(repetitions: quick ? 2 : repetitions)
    var generator = Xoshiro256StarStar(seed: seed)

    var table = Table(
      header: ["scalar", "shape (m×k · k×n)", "Linalg GFLOP/s", "direct GFLOP/s", "Linalg/direct"],
      alignments: [.left, .left, .right, .right, .right])
    let squares = quick ? [128, 256] : [256, 512, 1024, 2048]
    // y = x·Wᵀ shapes of MoE experts: tokens × d_model · (d_ff × d_model)ᵀ.
    let experts = quick ? [(32, 256, 512)] : [(64, 1024, 4096), (256, 1024, 2816)]
    for size in squares {
      table.append(compareGEMM(Float.self, m: size, k: size, n: size, transposeB: false, timer, &generator))
      table.append(compareGEMM(Double.self, m: size, k: size, n: size, transposeB: false, timer, &generator))
    }
    for (m, k, n) in experts {
      table.append(compareGEMM(Float.self, m: m, k: k, n: n, transposeB: true, timer, &generator))
    }
    sections.append(
      (
        "gemm",
        "GEMM: C = A·op(B), Linalg `gemm` against a direct `cblas_?gemm` call (median of \(timer.repetitions))",
        table
      ))
    var grouped = Table(
      header: [
        "case", "1 thread GFLOP/s", "sequential GFLOP/s", "concurrent GFLOP/s", "concurrent/sequential",
        "automatic picks", "automatic/best",
      ],
      alignments: [.left, .right, .right, .right, .right, .left, .right])
    for scenario in GroupedScenario.all(quick: quick) {
      grouped.append(compareGrouped(scenario, timer, &generator))
    }
    sections.append(
      (
        "grouped",
        "Grouped GEMM (Float): every expert's block through one GEMM, sequential (all BLAS threads per group) against concurrent (one thread per group)",
        grouped
      ))
    var gemvTable = Table(
      header: ["shape", "Linalg GB/s", "direct GB/s", "Linalg/direct"],
      alignments: [.left, .right, .right, .right])
    for size in quick ? [512] : [1024, 4096] {
      gemvTable.append(compareGEMV(size: size, timer, &generator))
    }
    sections.append(
      ("gemv", "GEMV (Float): y = A·x, Linalg `gemv` against a direct `cblas_sgemv` call", gemvTable))
    var fewRows = Table(
      header: [
        "rows", "weight", "Linalg GB/s", "sgemm GB/s", "sgemv×rows GB/s", "Linalg/sgemm", "Linalg/sgemv×rows",
      ],
      alignments: [.right, .left, .right, .right, .right, .right, .right])
    let (n, k) = quick ? (512, 256) : (14336, 4096)
    let weight = Matrix<Float>.uniform(rows: n, columns: k, low: -1, high: 1, using: &generator)
    for m in quick ? [1, 8] : [1, 2, 4, 8, 16] {
      fewRows.append(compareFewRows(m: m, weight: weight, timer, &generator))
    }
    sections.append(
      (
        "few_rows",
        "Few rows against a transposed weight (Float, a decode step: y = x·Wᵀ): Linalg `gemm` (its few-rows kernel up to \(fewRowsLimit) rows) against `cblas_sgemm` and one `cblas_sgemv` per row, in GB/s of weights read",
        fewRows
      ))
    var activations = Table(
      header: ["kernel", "elements", "Linalg ns/element", "scalar ns/element", "scalar/Linalg"],
      alignments: [.left, .right, .right, .right, .right])
    for row in compareActivations(count: quick ? 4096 : 4096 * 2816, timer, &generator) {
      activations.append(row)
    }
    sections.append(
      (
        "activations",
        "Activations (Float): Linalg's vectorised kernels against the scalar function in a loop", activations
      ))
    progress.finish()
    switch format {
    case .text:
      print("OpenBLAS: \(BLAS.configuration)")
      print("BLAS threads: \(BLAS.threadCount) of \(BLAS.processorCount) processors\n")
      for section in sections { print(section.title + "\n" + section.table.markdown) }
    case .json:
      let tables = sections.map { section in
        JSON.quoted(section.key) + ": " + section.table.jsonRecords(numericColumns: Set(section.table.header))
      }
      print(
        "{\"openblas\": \(JSON.quoted(BLAS.configuration)), \"threads\": \(BLAS.threadCount), "
          + "\"processors\": \(BLAS.processorCount), \"repetitions\": \(timer.repetitions),\n "
          + tables.joined(separator: ",\n ") + "}")
    }
  }

  // MARK: Measurements

  func compareGEMM<Scalar: BLASScalar>(
    _: Scalar.Type, m: Int, k: Int, n: Int, transposeB: Bool, _ timer: Timer,
    _ generator: inout Xoshiro256StarStar
  ) -> [String] {
    let a = Matrix<Scalar>.uniform(rows: m, columns: k, low: -1, high: 1, using: &generator)
    let b =
      transposeB
      ? Matrix<Scalar>.uniform(rows: n, columns: k, low: -1, high: 1, using: &generator)
      : Matrix<Scalar>.uniform(rows: k, columns: n, low: -1, high: 1, using: &generator)
    var c = Matrix<Scalar>(rows: m, columns: n)
    var direct = Matrix<Scalar>(rows: m, columns: n)
    let (wrapperTime, directTime) = timer.interleaved(
      { gemm(a, b, transposeB: transposeB, into: &c) },
      { directGEMM(a, b, transposeB: transposeB, into: &direct) })
    precondition(c == direct, "gemm and the direct call disagree")
    let flops = 2.0 * Double(m) * Double(n) * Double(k)
    let shape = "\(m)×\(k) · \(k)×\(n)" + (transposeB ? " (Bᵀ)" : "")
    return [
      "\(Scalar.self)", shape, Format.fixed(flops / wrapperTime / 1e9, 1),
      Format.fixed(flops / directTime / 1e9, 1),
      Format.fixed(directTime / wrapperTime, 3),
    ]
  }

  func compareGrouped(_ scenario: GroupedScenario, _ timer: Timer, _ generator: inout Xoshiro256StarStar)
    -> [String]
  {
    let tokens = scenario.blockSizes.reduce(0, +)
    let a = Matrix<Float>.uniform(rows: tokens, columns: scenario.inputs, low: -1, high: 1, using: &generator)
    let weights = scenario.blockSizes.map { _ in
      Matrix<Float>.uniform(
        rows: scenario.outputs, columns: scenario.inputs, low: -1, high: 1, using: &generator)
    }
    var ranges: [Range<Int>] = []
    var start = 0
    for size in scenario.blockSizes {
      ranges.append(start..<start + size)
      start += size
    }
    var c = Matrix<Float>(rows: tokens, columns: scenario.outputs)
    func time(_ strategy: GroupedGEMMStrategy) -> Double {
      timer.median {
        groupedGEMM(
          a, rowRanges: ranges, weights: weights, transposeWeights: true, into: &c, strategy: strategy)
      }
    }
    let oneThread = BLAS.withThreadCount(1) { time(.sequential) }
    let sequential = time(.sequential)
    let concurrent = time(.concurrent)
    let automatic = time(.automatic)
    let flops = 2.0 * Double(tokens) * Double(scenario.inputs) * Double(scenario.outputs)
    let picked = GroupedGEMMStrategy.resolvingAutomatic(
      rowCounts: scenario.blockSizes, inputs: scenario.inputs, outputs: scenario.outputs)
    return [
      scenario.name, Format.fixed(flops / oneThread / 1e9, 1), Format.fixed(flops / sequential / 1e9, 1),
      Format.fixed(flops / concurrent / 1e9, 1),
      Format.fixed(sequential / concurrent, 2), "\(picked)",
      Format.fixed(min(sequential, concurrent) / automatic, 2),
    ]
  }

  /// The row count up to which `gemm` uses its few-rows kernel.
  var fewRowsLimit: Int { 8 }

  func compareFewRows(m: Int, weight: Matrix<Float>, _ timer: Timer, _ generator: inout Xoshiro256StarStar)
    -> [String]
  {
    let (n, k) = (weight.rows, weight.columns)
    let x = Matrix<Float>.uniform(rows: m, columns: k, low: -1, high: 1, using: &generator)
    var linalg = Matrix<Float>(rows: m, columns: n)
    var direct = linalg
    var perRow = linalg
    let (linalgTime, directTime) = timer.interleaved(
      { gemm(x, weight, transposeB: true, into: &linalg) },
      { directGEMM(x, weight, transposeB: true, into: &direct) })
    let perRowTime = timer.median {
      weight.withUnsafeBufferPointer { w in
        x.withUnsafeBufferPointer { px in
          perRow.withUnsafeMutableBufferPointer { py in
            for i in 0..<m {
              cblas_sgemv(
                CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, w.baseAddress, Int32(k),
                px.baseAddress! + i * k, 1, 0, py.baseAddress! + i * n, 1)
            }
          }
        }
      }
    }
    precondition(
      linalg.isApproximatelyEqual(to: direct, absoluteTolerance: 1e-3, relativeTolerance: 1e-4),
      "few-rows gemm and sgemm disagree")
    let bytes = Double(n * k * MemoryLayout<Float>.stride)
    return [
      "\(m)", "\(n)×\(k)", Format.fixed(bytes / linalgTime / 1e9, 1),
      Format.fixed(bytes / directTime / 1e9, 1),
      Format.fixed(bytes / perRowTime / 1e9, 1), Format.fixed(directTime / linalgTime, 2),
      Format.fixed(perRowTime / linalgTime, 2),
    ]
  }

  /// Each kernel against the scalar function in a loop, both in place on a buffer that
  /// is refilled from the same arguments before every call (the copy is in both times).
  func compareActivations(count: Int, _ timer: Timer, _ generator: inout Xoshiro256StarStar) -> [[String]] {
    let x = Matrix<Float>.uniform(rows: 1, columns: count, low: -8, high: 8, using: &generator)
    let u = Matrix<Float>.uniform(rows: 1, columns: count, low: -1, high: 1, using: &generator)
    var y = Matrix<Float>(rows: 1, columns: count)
    func refill() {
      y.withUnsafeMutableBufferPointer { target in
        x.withUnsafeBufferPointer { _ = target.update(fromContentsOf: $0) }
      }
    }
    func row(_ name: String, _ vector: Double, _ scalar: Double) -> [String] {
      [
        name, "\(count)", Format.fixed(vector / Double(count) * 1e9, 2),
        Format.fixed(scalar / Double(count) * 1e9, 2), Format.fixed(scalar / vector, 1),
      ]
    }
    var rows: [[String]] = []
    for function in [ElementwiseFunction.silu, .sigmoid] {
      let (vector, scalar) = timer.interleaved(
        {
          refill()
          y.apply(function)
        },
        {
          refill()
          y.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = function(p[i]) } }
        })
      rows.append(row("\(function)", vector, scalar))
    }
    let (vector, scalar) = timer.interleaved(
      {
        refill()
        y.applyGated(.silu, multiplying: u)
      },
      {
        refill()
        u.withUnsafeBufferPointer { pu in
          y.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = ElementwiseFunction.silu(p[i]) * pu[i] }
          }
        }
      })
    rows.append(row("silu(g)·u (SwiGLU)", vector, scalar))
    return rows
  }

  func compareGEMV(size: Int, _ timer: Timer, _ generator: inout Xoshiro256StarStar) -> [String] {
    let a = Matrix<Float>.uniform(rows: size, columns: size, low: -1, high: 1, using: &generator)
    let x = Matrix<Float>.uniform(rows: size, columns: 1, low: -1, high: 1, using: &generator)
    var y = Matrix<Float>(rows: size, columns: 1)
    var direct = y
    let (wrapperTime, directTime) = timer.interleaved(
      { gemv(a, x, into: &y) },
      {
        a.withUnsafeBufferPointer { pa in
          x.withUnsafeBufferPointer { px in
            direct.withUnsafeMutableBufferPointer { py in
              cblas_sgemv(
                CblasRowMajor, CblasNoTrans, Int32(size), Int32(size), 1, pa.baseAddress, Int32(size),
                px.baseAddress, 1, 0, py.baseAddress, 1)
            }
          }
        }
      })
    let bytes = Double(size * size * MemoryLayout<Float>.stride)
    return [
      "\(size)×\(size)", Format.fixed(bytes / wrapperTime / 1e9, 1),
      Format.fixed(bytes / directTime / 1e9, 1),
      Format.fixed(directTime / wrapperTime, 3),
    ]
  }
}

/// The baseline: `cblas_sgemm` / `cblas_dgemm` called by hand on the matrices' storage.
func directGEMM<Scalar: BLASScalar>(
  _ a: Matrix<Scalar>, _ b: Matrix<Scalar>, transposeB: Bool, into c: inout Matrix<Scalar>
) {
  let (m, k, n) = (a.rows, a.columns, c.columns)
  let trans = transposeB ? CblasTrans : CblasNoTrans
  a.withUnsafeBufferPointer { pa in
    b.withUnsafeBufferPointer { pb in
      c.withUnsafeMutableBufferPointer { pc in
        if Scalar.self == Float.self {
          pa.withMemoryRebound(to: Float.self) { fa in
            pb.withMemoryRebound(to: Float.self) { fb in
              pc.withMemoryRebound(to: Float.self) { fc in
                cblas_sgemm(
                  CblasRowMajor, CblasNoTrans, trans, Int32(m), Int32(n), Int32(k), 1, fa.baseAddress,
                  Int32(k),
                  fb.baseAddress, Int32(b.columns), 0, fc.baseAddress, Int32(n))
              }
            }
          }
        } else {
          pa.withMemoryRebound(to: Double.self) { da in
            pb.withMemoryRebound(to: Double.self) { db in
              pc.withMemoryRebound(to: Double.self) { dc in
                cblas_dgemm(
                  CblasRowMajor, CblasNoTrans, trans, Int32(m), Int32(n), Int32(k), 1, da.baseAddress,
                  Int32(k),
                  db.baseAddress, Int32(b.columns), 0, dc.baseAddress, Int32(n))
              }
            }
          }
        }
      }
    }
  }
}

/// A set of expert blocks for grouped GEMM: each block is `size × inputs` tokens times an
/// `outputs × inputs` expert weight (transposed), as in an MoE up-projection.
struct GroupedScenario {
  var name: String
  var blockSizes: [Int]
  var inputs: Int
  var outputs: Int

  static func all(quick: Bool) -> [GroupedScenario] {
    if quick {
      return [
        GroupedScenario(
          name: "8 experts × 32 tokens, 256→512", blockSizes: Array(repeating: 32, count: 8), inputs: 256,
          outputs: 512)
      ]
    }
    return [
      GroupedScenario(
        name: "8 balanced experts × 128 tokens, 1024→1408", blockSizes: Array(repeating: 128, count: 8),
        inputs: 1024, outputs: 1408),
      GroupedScenario(
        name: "8 balanced experts × 512 tokens, 1024→2816 (C1)", blockSizes: Array(repeating: 512, count: 8),
        inputs: 1024, outputs: 2816),
      GroupedScenario(
        name: "64 small experts × 16 tokens, 512→256", blockSizes: Array(repeating: 16, count: 64),
        inputs: 512, outputs: 256),
      GroupedScenario(
        name: "64 tiny experts × 4 tokens, 256→128 (decode)", blockSizes: Array(repeating: 4, count: 64),
        inputs: 256, outputs: 128),
      GroupedScenario(
        name: "8 skewed experts (one has 72 %), 1024→1408", blockSizes: [736, 48, 48, 48, 48, 48, 24, 24],
        inputs: 1024, outputs: 1408),
    ]
  }
}
