// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "MoEKit",
  products: [
    // MARK: Libraries
    .library(name: "Linalg", targets: ["Linalg"]),
    .library(name: "MoE", targets: ["MoE"]),
    .library(name: "Report", targets: ["Report"]),
    .library(name: "CostModel", targets: ["CostModel"]),
    .library(name: "ModelIO", targets: ["ModelIO"]),
    .library(name: "Evaluation", targets: ["Evaluation"]),
    .library(name: "Serving", targets: ["Serving"]),
    .library(name: "MoEKit", targets: ["MoEKit"]),
    // Needs Open MPI (libopenmpi-dev); nothing else depends on it.
    .library(name: "MoEDistributed", targets: ["MoEDistributed"]),
    // MARK: Examples
    .executable(name: "gemm-bench", targets: ["gemm-bench"]),
    .executable(name: "moe-tour", targets: ["moe-tour"]),
    .executable(name: "cost-tables", targets: ["cost-tables"]),
    .executable(name: "routing-collapse", targets: ["routing-collapse"]),
    .executable(name: "moe-bench", targets: ["moe-bench"]),
    .executable(name: "moe-run", targets: ["moe-run"]),
    .executable(name: "dense-vs-sparse", targets: ["dense-vs-sparse"]),
    .executable(name: "attention-bench", targets: ["attention-bench"]),
    .executable(name: "expert-memory", targets: ["expert-memory"]),
    .executable(name: "expert-finetune", targets: ["expert-finetune"]),
    .executable(name: "moe-generate", targets: ["moe-generate"]),
    .executable(name: "model-bench", targets: ["model-bench"]),
    .executable(name: "quant-bench", targets: ["quant-bench"]),
    .executable(name: "ep-bench", targets: ["ep-bench"]),
    .executable(name: "moe-lm", targets: ["moe-lm"]),
    .executable(name: "moe-serve", targets: ["moe-serve"]),
    .executable(name: "serve-bench", targets: ["serve-bench"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    // moe-serve's HTTP layer.
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    // moe-serve sees the connection (NIOCore's Channel), already there under Hummingbird.
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    // `swift package generate-documentation` (scripts/docs.sh); no target depends on it.
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
  ],
  targets: [
    // MARK: System libraries
    .systemLibrary(
      name: "COpenBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
    ),

    .systemLibrary(
      name: "CMPI",
      pkgConfig: "ompi-c",
      providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
    ),

    // MARK: C kernels (vectorised float loops BLAS lacks)
    .target(name: "CKernels"),

    // MARK: Library modules
    .target(
      name: "Linalg",
      dependencies: [
        "COpenBLAS", "CKernels",
        .product(name: "RealModule", package: "swift-numerics"),
      ]
    ),

    .target(
      name: "MoE",
      dependencies: [
        "Linalg",
        .product(name: "RealModule", package: "swift-numerics"),
      ]
    ),

    .target(name: "Report"),
    .target(
      name: "CostModel",
      dependencies: [
        "Linalg",
        .product(name: "RealModule", package: "swift-numerics"),
      ]
    ),

    .target(name: "ModelIO", dependencies: ["Linalg", "MoE", "CostModel", "Report"]),

    .target(name: "Evaluation", dependencies: ["Linalg", "MoE"]),

    // Continuous batching and OpenAI request types; the HTTP layer is moe-serve's.
    .target(name: "Serving", dependencies: ["CostModel", "Linalg", "MoE", "ModelIO"]),

    .target(
      name: "MoEKit",
      dependencies: ["CostModel", "Evaluation", "Linalg", "MoE", "ModelIO", "Report", "Serving"]),

    // Expert parallelism over MPI: the only module that needs it (not in the umbrella).
    .target(name: "MoEDistributed", dependencies: ["CMPI", "Linalg", "MoE"]),

    // MARK: Test support (not a product)
    .target(name: "_TestSupport", dependencies: ["Linalg", "MoE"]),

    // MARK: Options every example shares (not a product)
    .target(
      name: "_ExampleSupport",
      dependencies: [
        "CostModel", "Evaluation", "Linalg", "MoE", "ModelIO", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Examples/_ExampleSupport"
    ),

    // MARK: Examples
    .executableTarget(
      name: "moe-eval",
      dependencies: [
        "Evaluation", "Linalg", "ModelIO", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/moe-eval"
    ),
    .executableTarget(
      name: "gemm-bench",
      dependencies: [
        "Linalg", "COpenBLAS", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/gemm-bench"
    ),
    .executableTarget(
      name: "moe-tour",
      dependencies: [
        "Linalg", "MoE", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/moe-tour"
    ),
    .executableTarget(
      name: "cost-tables",
      dependencies: [
        "CostModel", "Linalg", "MoE", "ModelIO", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/cost-tables"
    ),
    .executableTarget(
      name: "routing-collapse",
      dependencies: [
        "Linalg", "MoE", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/routing-collapse"
    ),
    .executableTarget(
      name: "expert-finetune",
      dependencies: [
        "Linalg", "MoE", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/expert-finetune"
    ),
    .executableTarget(
      name: "expert-memory",
      dependencies: [
        "Linalg", "MoE", "ModelIO", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/expert-memory"
    ),
    .executableTarget(
      name: "attention-bench",
      dependencies: [
        "CostModel", "Linalg", "MoE", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/attention-bench"
    ),
    .executableTarget(
      name: "dense-vs-sparse",
      dependencies: [
        "Linalg", "MoE", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Examples/dense-vs-sparse"
    ),
    .executableTarget(
      name: "moe-bench",
      dependencies: [
        "Linalg", "MoE", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/moe-bench"
    ),
    .executableTarget(
      name: "moe-run",
      dependencies: [
        "Linalg", "MoE", "ModelIO", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/moe-run"
    ),

    .executableTarget(
      name: "moe-generate",
      dependencies: [
        "CostModel", "Linalg", "MoE", "ModelIO", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/moe-generate"
    ),
    .executableTarget(
      name: "model-bench",
      dependencies: [
        "Linalg", "MoE", "ModelIO", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/model-bench"
    ),
    .executableTarget(
      name: "quant-bench",
      dependencies: [
        "Linalg", "MoE", "ModelIO", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"), "_ExampleSupport",
      ],
      path: "Examples/quant-bench"
    ),
    .executableTarget(
      name: "moe-lm",
      dependencies: [
        "Linalg", "MoE", "ModelIO", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Examples/moe-lm"
    ),
    .executableTarget(
      name: "moe-serve",
      dependencies: [
        "Linalg", "ModelIO", "Report", "Serving", "_ExampleSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      path: "Examples/moe-serve"
    ),
    .executableTarget(
      name: "serve-bench",
      dependencies: ["Linalg", "Report", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      path: "Examples/serve-bench"
    ),
    .executableTarget(
      name: "ep-bench",
      dependencies: [
        "CostModel", "Linalg", "MoE", "MoEDistributed", "Report",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Examples/ep-bench"
    ),

    // MARK: Fuzz targets (replay runners unless built by scripts/fuzz.sh)
    .target(name: "_FuzzSupport", path: "Fuzz/_FuzzSupport"),
    .executableTarget(
      name: "fuzz-safetensors", dependencies: ["ModelIO", "_FuzzSupport"], path: "Fuzz/fuzz-safetensors"),
    .executableTarget(name: "fuzz-npy", dependencies: ["ModelIO", "_FuzzSupport"], path: "Fuzz/fuzz-npy"),
    .executableTarget(
      name: "fuzz-config", dependencies: ["CostModel", "_FuzzSupport"], path: "Fuzz/fuzz-config"),
    .executableTarget(
      name: "fuzz-tokenizer", dependencies: ["ModelIO", "_FuzzSupport"], path: "Fuzz/fuzz-tokenizer"),
    .executableTarget(name: "fuzz-gguf", dependencies: ["ModelIO", "_FuzzSupport"], path: "Fuzz/fuzz-gguf"),

    // MARK: Tests
    .testTarget(name: "LinalgTests", dependencies: ["Linalg", "_TestSupport"]),
    .testTarget(name: "MoETests", dependencies: ["MoE", "Linalg", "_TestSupport"]),
    .testTarget(name: "ReportTests", dependencies: ["Report"]),
    .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Linalg", "MoE", "ModelIO"]),
    .testTarget(name: "CostModelTests", dependencies: ["CostModel"], exclude: ["Fixtures"]),
    .testTarget(name: "MoEKitTests", dependencies: ["MoEKit"]),
    .testTarget(name: "ServingTests", dependencies: ["Serving", "MoE", "Linalg", "ModelIO"]),
    .testTarget(
      name: "ModelIOTests", dependencies: ["ModelIO", "MoE", "Linalg", "CostModel", "_TestSupport"],
      exclude: ["Fixtures"]),
    // Runs every example executable it declares, which `swift build --build-tests` builds
    // beside it.
    .testTarget(
      name: "ExamplesTests",
      dependencies: [
        "gemm-bench", "moe-tour", "cost-tables", "routing-collapse", "dense-vs-sparse", "attention-bench",
        "expert-memory", "expert-finetune", "moe-bench", "moe-run", "moe-generate", "model-bench",
        "quant-bench",
        "moe-lm", "ep-bench", "moe-serve", "serve-bench", "ModelIO", "MoE", "Linalg", "_TestSupport",
      ]),

    // MoEDistributed's checks run under mpirun by MoEDistributedTests, which launches them.
    .executableTarget(
      name: "moe-distributed-checks", dependencies: ["Linalg", "MoE", "MoEDistributed"],
      path: "Tests/MoEDistributedChecks"),
    .testTarget(name: "MoEDistributedTests", dependencies: ["moe-distributed-checks", "_TestSupport"]),
  ]
)
