// `sqlx::migrate!` embeds the migration folders when the crate compiles: compile again
// when one changes (a new file included).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
