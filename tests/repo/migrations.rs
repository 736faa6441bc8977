//! Migrations are never edited once they have landed: a database that applied the
//! earlier text would refuse to start (sqlx compares checksums). Each migration's
//! checksum is pinned here; a change to the schema goes in a new migration, which is
//! added to this list.

use contacts_admin::repo::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use sqlx::migrate::Migrator;

/// (version, SHA-384 of the file) of every migration, as it landed.
const SQLITE: &[(i64, &str)] = &[
    (1, "5995556c66a4a1a67c0e3e589f624d37959dfdebefaabf8f9e4ee4f9fea088dd6cad5eab4ce5f2988764c9d5ee701ce3"),
    (2, "dd69a5a281f407f4b206847a0f2811e13ef7e5545a88bca47b0d61303e429657bd4a0f8142d72e4d2f591430eda7a675"),
    (3, "185907f35812e345127375433a817eb572321bcea215559c6942a5cf20f356ef087882791e6eeb69f2eb737fb6581e9f"),
    (4, "cdc5ed7704e56bdcbae7b9871d461f111d4ef8690f9b68811a7ab2f7a80455e56265a9eb521d7792ce7050d4b0635d2d"),
    (10, "f225ba377e9584b0a7f3eace9b976c5b98d340e39b2cf3b632f9d1cd8b8840d10b0a01fd3abad000236312984a8e9a2a"),
    (11, "f22c2448225bb82c4a51002d9126fe6bef6fcd3ac2d0a7ba54409bc12925e5fc5be264aa2a2aa1b6e40fe446b5676c44"),
    (12, "a7d6a208d1f9609c5a15755e5cbade1a00a98c3211b67a6522deee9b9e74734e35a7fb1adbd14c71ffa42539dd5bb1f4"),
    (17, "571b4366384e8d6c2b2e9b0a3eb87f7bc7e1a2dca50b56a6634dd3c5f80d2eacfbeb9d0d7eb7f02a77b8dbfeb85bb6cc"),
    (18, "3d3efcec1dc728adcfc1d8f2aa5469f9fcae36cfc30f92c0d717a4a70e274d1a5b1a921fb1704c7b40047dd590fbaf71"),
    (19, "751eb16050bb9df81a36b604807db1a6f31b98ce264a868a7c1013ec49874fee0088915866dd65721ccd08e2a1580ac5"),
    (20, "0ce18bcfc99df3108c955d8ae8bb9e6e4619db17a49269e399a4cfe51d872c2511ff0f2419acff71c8e447c3893d6714"),
    (21, "232f95315a90ab37dc8b854e28fbcd085ee6ca7847923a4454aee7e17f60c309f9f195e6776af50359f08b80c4b23f6a"),
    (23, "c454b221c5c91d6ece864544b8a11b8f748600b92afbac2f72ede9553ee66541bd6565fd441bb7205dc3cbcd3691f610"),
    (24, "b5c1e0d80604d51942fea4c35b65e569d1a7e7e948bcb041fd03fd9bef4636429276e3592fe53a1b84d75aba456607a0"),
    (25, "6e4169401bbd0329a625192d63a66a720d8c1ebacba63d540a9cfe8937c9f122bf68884e602524907f57c9f9540ca1d8"),
    (26, "ea94fea14c065b81d96d372a19ea05640bb33c997d0a4f2d141926f3424ab96224f5d10e432fc7ab2ac68f3a7fa95d50"),
    (29, "55851c6086cfeb5ac7b37851a3ad31074bb7adf178d2f2487085d5ff811ba070f216c6691543c9fa5cdf8e00a3e130cb"),
];

const POSTGRES: &[(i64, &str)] = &[
    (1, "3997332b7d491b6a2517cdbca5c652c37e79f82cea601ebd1c216ffd89eb1b5ff00147dece1f2c16e99ea0066f24b0f1"),
    (2, "8df5ccc18c3381f4554a2679d5e35611814348499484ce39d2e27c4ed1af4456475856f31bc32613800150cd10f3342d"),
    (3, "f6eb5b0e57f3d567002b09f8066022d9452d0b912242a2b7ff9f8948620245e5127bdaa1ee6f93f7cebdecbb2d7c4cf3"),
    (10, "72e64b899c5b0604a224a21033d78452b2ea1fd7337fff997a240725d47f61afa50b806243f9e60e6d01c56c0286da90"),
    (11, "b93c595a20d91fed3a32de9a85c79013685eaf4df4d2d518d5a914ced32fed2e2c711c9b501a5ce6bce8da61aa437fc2"),
    (12, "a7d6a208d1f9609c5a15755e5cbade1a00a98c3211b67a6522deee9b9e74734e35a7fb1adbd14c71ffa42539dd5bb1f4"),
    (13, "f7fa13dd10736304174d6699d504dae425d3386c18b64f1231fdb0883957268794db47d499686159d321304a487e54e2"),
    (14, "282e50f9b6953e9896cd8295c7daad3c33a64f605238a4b52a4f2b7c104d3ecd52a9a8b8b9eaa3b2d17b9f8b44222c6a"),
    (15, "42b0ed74186b1b4c91c3702a7c8183eafd0581d944d4f43a4a9a131f990227c0d67618a4044123820eedc07a2f72beb1"),
    (16, "eaffd0016975ee6228f5ed037f7c680d2a41ea70ffe29cccf82e97f970b8f31d6d793c9a7b4ea1eecfd3014e881406f6"),
    (17, "063e848111c69e88c3509a4693a779fa13807597ffa89aad01e8f245839112cd09806e2d5538d8e8467dfff97523b867"),
    (18, "b5a0dd99e3396066dd9158517d597956ecebaccc432fc68da5f36b7cfe36fb448884d05a4f8002f32270bfce71ff0c61"),
    (19, "751eb16050bb9df81a36b604807db1a6f31b98ce264a868a7c1013ec49874fee0088915866dd65721ccd08e2a1580ac5"),
    (20, "0ce18bcfc99df3108c955d8ae8bb9e6e4619db17a49269e399a4cfe51d872c2511ff0f2419acff71c8e447c3893d6714"),
    (21, "232f95315a90ab37dc8b854e28fbcd085ee6ca7847923a4454aee7e17f60c309f9f195e6776af50359f08b80c4b23f6a"),
    (23, "328237a50d6f099607954166a071297a6a9dc3732acb14ac034eace0244481866f3026e99ebf701817260499dc7fc6d1"),
    (24, "cf133b9f323d20f2b9f63b206e2dd1fe0caa2330e345d0e95ad31dae10a7889ac907a50ea55af8fb885bf33eb8d6022e"),
    (28, "6f9ce613fa8f047428e9514bc6de5393921423d11410f78ba6a697ee0adb161df63dff7ef3d7206f9e05e51d3544c62e"),
];

fn check(backend: &str, migrator: &Migrator, pinned: &[(i64, &str)]) {
    let mut problems = Vec::new();
    for m in migrator.iter() {
        let sum: String = m.checksum.iter().map(|b| format!("{b:02x}")).collect();
        match pinned.iter().find(|(v, _)| *v == m.version) {
            Some((_, want)) if *want == sum => {}
            Some(_) => problems.push(format!(
                "{backend} migration {:04} ({}) was edited after it landed: put the change in a new migration",
                m.version, m.description
            )),
            None => problems.push(format!("{backend} migration {:04} ({}) is new: pin its checksum here: ({}, \"{sum}\")", m.version, m.description, m.version)),
        }
    }
    for (v, _) in pinned {
        if !migrator.iter().any(|m| m.version == *v) {
            problems.push(format!("{backend} migration {v:04} was removed"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_landed_migration_is_ever_edited() {
    check("SQLite", &SQLITE_MIGRATIONS, SQLITE);
    check("PostgreSQL", &POSTGRES_MIGRATIONS, POSTGRES);
}
