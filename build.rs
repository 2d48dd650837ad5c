// `sqlx::migrate!` embeds the migration folders, and `static_loader!` the Fluent
// catalogues, when the crate compiles: compile again when one changes (a new file
// included).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=locales");
}
