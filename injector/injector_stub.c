/* placeholder: replaced by the injector */
