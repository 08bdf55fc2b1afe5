/* placeholder: replaced by the drill runner */
